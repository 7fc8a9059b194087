package admin

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// readForm keeps a multipart body in memory whole: a file part larger than
// a fixed memory bound went to a temporary file that nothing removed (the
// request it hangs on is a copy net/http does not clean up).
func TestReadFormKeepsMultipartInMemory(t *testing.T) {
	t.Parallel()
	const limit = 8 << 20
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf_token", "x")
	fw, _ := mw.CreateFormFile("upload", "big.bin")
	_, _ = fw.Write(bytes.Repeat([]byte("a"), 3<<20))
	_ = mw.Close()
	r := httptest.NewRequest(http.MethodPost, "/admin/login/", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit)
	if err := readForm(r, limit); err != nil {
		t.Fatal(err)
	}
	if got := r.PostFormValue("csrf_token"); got != "x" {
		t.Fatalf("csrf_token = %q", got)
	}
	f, err := r.MultipartForm.File["upload"][0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, onDisk := f.(*os.File); onDisk {
		t.Error("a file part went to a temporary file")
	}
}

// The form is the body: a malformed URL query does not make a good form
// unreadable (gin ignores such a query, and so do the handlers).
func TestReadFormIgnoresTheQuery(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/admin/patients/add/?x=%zz", strings.NewReader("name=Ann&csrf_token=t"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := readForm(r, 1<<20); err != nil {
		t.Fatalf("readForm: %v", err)
	}
	if r.PostFormValue("name") != "Ann" || r.URL.RawQuery != "x=%zz" {
		t.Errorf("name %q, query %q", r.PostFormValue("name"), r.URL.RawQuery)
	}
	bad := httptest.NewRequest(http.MethodPost, "/admin/patients/add/", strings.NewReader("name=%zz"))
	bad.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := readForm(bad, 1<<20); err == nil {
		t.Error("a malformed body read as a form")
	}
}
