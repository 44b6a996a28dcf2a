package redact

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestURLAndQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc123&X-Amz-Security-Token=tok",
			"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED"},
		{"https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKID&Expires=1700000000&Signature=sig%3D", "https://b.s3.amazonaws.com/k?AWSAccessKeyId=REDACTED&Expires=1700000000&Signature=REDACTED"},
		{"http://u:pw@h/p?x-amz-signature=lower", "http://h/p?x-amz-signature=REDACTED"},
		{"http://h/p?X%2DAmz%2DSignature=escaped-name", "http://h/p?X%2DAmz%2DSignature=REDACTED"},
		{"http://h/p?a=1;Signature=semi", "http://h/p?a=1;Signature=REDACTED"},
		{"http://h/p?a=1&b=2", "http://h/p?a=1&b=2"},
		{"http://h/p?Signature", "http://h/p?Signature"},
	}
	for _, c := range cases {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(u); got != c.want {
			t.Errorf("URL(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{`Get "http://127.0.0.1:1/b/k?X-Amz-Credential=AKID%2Fx&X-Amz-Signature=deadbeef": dial tcp: refused`,
			`Get "http://127.0.0.1:1/b/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED": dial tcp: refused`},
		{"PUT https://user:pass@h/x failed", "PUT https://h/x failed"},
		{"no url here", "no url here"},
		{"signature of the data is fine", "signature of the data is fine"},
		{"a=b&Signature=zz end", "a=b&Signature=REDACTED end"},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

type typed struct{ msg string }

func (e *typed) Error() string { return e.msg }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErrorKeepsTypesAndRedacts(t *testing.T) {
	const raw = "http://h/b/k?X-Amz-Signature=SECRETSIG&X-Amz-Credential=SECRETCRED"
	inner := &typed{"refused for " + raw}
	cases := []struct {
		name string
		err  error
		as   func(error) bool
	}{
		{"url.Error", &url.Error{Op: "Get", URL: raw, Err: inner}, func(e error) bool { var x *typed; return errors.As(e, &x) }},
		{"wrapped text", fmt.Errorf("tollgate: %w", inner), func(e error) bool { var x *typed; return errors.As(e, &x) }},
		{"url.Error timeout", &url.Error{Op: "Get", URL: raw, Err: timeoutErr{}}, func(e error) bool {
			var ue *url.Error
			return errors.As(e, &ue) && ue.Timeout()
		}},
		{"canceled", &url.Error{Op: "Get", URL: raw, Err: context.Canceled}, func(e error) bool { return errors.Is(e, context.Canceled) }},
	}
	for _, c := range cases {
		got := Error(c.err)
		if s := got.Error(); strings.Contains(s, "SECRET") {
			t.Errorf("%s: %q still holds a secret", c.name, s)
		}
		if !c.as(got) {
			t.Errorf("%s: errors.As/Is no longer finds the cause in %v", c.name, got)
		}
	}
	if Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
	plain := errors.New("plain")
	if Error(plain) != plain {
		t.Error("an error with nothing to redact must come back as is")
	}
}
