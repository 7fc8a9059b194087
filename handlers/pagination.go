package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// listQuery parses DRF's list parameters: page, page_size, cursor, search
// and ordering. A page that is not a positive number is 404.
func listQuery(c *gin.Context) (models.ListQuery, error) {
	q := models.ListQuery{Page: 1, Search: c.Query("search"), Ordering: c.Query("ordering")}
	q.PageSize = pageSize(c.Query("page_size"))
	if cur, ok := c.GetQuery("cursor"); ok {
		q.UseCursor, q.Cursor = true, cur
		return q, nil
	}
	if raw, ok := c.GetQuery("page"); ok {
		// Django's paginator takes int(page): surrounding space (a "+" in a
		// query string is one) and a sign are allowed.
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < 1 {
			return q, &models.Error{Code: models.NotFound, Message: "Invalid page."}
		}
		q.Page = n
	}
	return q, nil
}

// pageSize reads page_size as DRF does: a positive integer, capped at
// MaxPageSize (so one too big for an int is the cap too); anything else
// means the default (0).
func pageSize(raw string) int {
	raw = strings.TrimSpace(raw) // as for page
	size, err := strconv.Atoi(raw)
	switch {
	case err == nil && size > 0:
		return min(size, models.MaxPageSize)
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(raw, "-"):
		return models.MaxPageSize
	}
	return 0
}

// pageBody is DRF's page-number body; cursor pages leave Count out.
type pageBody[T any] struct {
	Count    *int64  `json:"count,omitempty"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// writePage writes page, its items converted by conv, with absolute
// next/previous links.
func writePage[M, T any](c *gin.Context, q models.ListQuery, page models.Page[M], conv func(*M) T) {
	results := make([]T, len(page.Items))
	for i := range page.Items {
		results[i] = conv(&page.Items[i])
	}
	body := pageBody[T]{Results: results}
	if q.UseCursor {
		body.Next = link(c, "cursor", page.NextCursor)
		body.Previous = link(c, "cursor", page.PrevCursor)
	} else {
		body.Count = &page.Count
		if page.HasNext {
			body.Next = link(c, "page", strconv.Itoa(q.Page+1))
		}
		if page.HasPrev {
			// DRF leaves page=1 out of the link to the first page.
			prev := ""
			if q.Page > 2 {
				prev = strconv.Itoa(q.Page - 1)
			}
			body.Previous = link(c, "page", prev)
			if prev == "" {
				body.Previous = link(c, "page", "-")
			}
		}
	}
	c.JSON(http.StatusOK, body)
}

// link returns the absolute URL of this request with param set to value
// ("" means no link; "-" means the parameter removed).
func link(c *gin.Context, param, value string) *string {
	if value == "" {
		return nil
	}
	query := c.Request.URL.Query()
	if value == "-" {
		query.Del(param)
	} else {
		query.Set(param, value)
	}
	u := url.URL{Scheme: scheme(c), Host: c.Request.Host, Path: c.Request.URL.Path, RawQuery: query.Encode()}
	s := u.String()
	return &s
}

// scheme is the scheme clients reached the server by: the router's
// publicScheme records it in the request's URL (from TLS, SECURE_COOKIES or
// a trusted proxy's X-Forwarded-Proto); a bare connection's otherwise.
func scheme(c *gin.Context) string {
	if s := c.Request.URL.Scheme; s != "" {
		return s
	}
	if c.Request.TLS != nil {
		return "https"
	}
	return "http"
}

// pathID parses the path parameter name as a positive integer id; anything
// else is 404, as a Django path converter would answer.
func pathID(c *gin.Context, name string) (int64, error) {
	id, ok := parseID(c.Param(name))
	if !ok {
		return 0, &models.Error{Code: models.NotFound, Message: msgNotFound}
	}
	return id, nil
}

// parseID parses raw as Django's <int:> converter matches it (digits only:
// no sign, no space) and keeps it only if it is a positive int64.
func parseID(raw string) (int64, bool) {
	for _, r := range raw {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	return id, err == nil && id >= 1
}
