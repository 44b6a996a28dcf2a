package middleware

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/redact"
)

// RedactError returns err with the credentials in every URL it quotes removed: the values of
// signed query parameters (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, SigV2's
// Signature and AWSAccessKeyId) become "REDACTED", and user:password@ is dropped. net/http's
// Client returns every failure as a *url.Error holding the request's full URL, which for a
// presigned URL is a bearer credential until it expires; pass such errors through RedactError
// before they are logged or returned. A *url.Error comes back as a *url.Error with the same Op
// and Err and a redacted URL, so errors.As and errors.Is (and url.Error's Timeout) find what
// they found before. nil stays nil; an error with nothing to redact is returned as is.
func RedactError(err error) error { return redact.Error(err) }

// Client sends requests through an http.Client and returns its errors redacted (RedactError),
// so that a failed presigned request never hands its signature to whoever prints the error.
// NewClient builds one over a tollgate RoundTripper.
type Client struct {
	// HTTP sends the requests; its Transport is normally a tollgate RoundTripper.
	HTTP *http.Client
}

// NewClient returns a Client whose http.Client sends through t.NewRoundTripper(next, identify).
func (t *Tollgate) NewClient(next http.RoundTripper, identify func(*http.Request) RequestInfo) *Client {
	return &Client{HTTP: &http.Client{Transport: t.NewRoundTripper(next, identify)}}
}

// Do sends req with c.HTTP.Do and returns its response, or its error redacted.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.HTTP.Do(req)
	return resp, redact.Error(err)
}
