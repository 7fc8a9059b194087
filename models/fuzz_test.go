package models

import (
	"encoding/base64"
	"testing"
	"time"
)

// fuzzCursorSeeds are cursors as clients receive them, and tampered ones.
func fuzzCursorSeeds() []string {
	at := time.Date(2026, 11, 25, 18, 48, 33, 123456000, time.UTC)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return []string{
		cursor{at: at, id: 42}.encode(),
		cursor{reverse: true, at: at, id: 1}.encode(),
		cursor{at: time.UnixMicro(0).UTC(), id: 9223372036854775807}.encode(),
		"",
		"!!!!",
		b64("n.1.1"),
		b64("p.0.1"),
		b64("n.-1.1"),
		b64("n.1.0"),
		b64("n.1.-5"),
		b64("x.1.1"),
		b64("n.1"),
		b64("n.1.1.1"),
		b64("n.99999999999999999999.1"),
		b64("n.0x10.1"),
		b64("n.+1.1"),
		b64("n. 1.1"),
		b64("n.1.1\x00"),
		base64.StdEncoding.EncodeToString([]byte("n.1.1")),
	}
}

// FuzzDecodeCursor: decodeCursor never panics; it either returns the
// contract's "Invalid cursor." or a cursor with a positive id and a time
// not before 1970 that survives an encode/decode round trip.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range fuzzCursorSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if ErrorCode(err) != Invalid || ErrorMessage(err) != "Invalid cursor." {
				t.Fatalf("decodeCursor(%q) error = %v, want Invalid cursor.", s, err)
			}
			return
		}
		if c.id < 1 || c.at.Before(time.Unix(0, 0)) || c.at.Location() != time.UTC {
			t.Fatalf("decodeCursor(%q) = %+v: id or time out of range", s, c)
		}
		again, err := decodeCursor(c.encode())
		if err != nil || again.reverse != c.reverse || again.id != c.id || !again.at.Equal(c.at) {
			t.Fatalf("round trip of %+v gave %+v, %v", c, again, err)
		}
	})
}
