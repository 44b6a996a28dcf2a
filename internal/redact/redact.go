// Package redact removes credentials from URLs and from the errors that carry them, so that
// nothing tollgate returns, logs or prints holds a presigned URL's signature.
//
// A presigned S3 URL is a bearer credential until it expires: whoever holds it can make the
// request it signs. Its query carries the SigV4 signature (X-Amz-Signature), the access key and
// scope (X-Amz-Credential) and, for temporary credentials, the session token
// (X-Amz-Security-Token); SigV2 URLs carry Signature and AWSAccessKeyId. net/http's Client puts
// the whole request URL in every *url.Error it returns, so an error from a presigned request
// hands the credential to whatever logs the error.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// Placeholder replaces a redacted value.
const Placeholder = "REDACTED"

// signedParams are the query parameters (matched case-insensitively) that hold or lead to a
// credential: SigV4 query authentication
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html) and SigV2
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth).
var signedParams = []string{"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid"}

// IsSigned reports whether name is a query parameter that carries a credential.
func IsSigned(name string) bool {
	for _, p := range signedParams {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// URL returns u as a string with the values of signed query parameters replaced by
// Placeholder and any user information (user:password@) removed. Other parameters, the path and
// the host are kept, so that the URL still says what was requested. u is not modified.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = Query(c.RawQuery)
	return c.String()
}

// Query returns the raw query q with the values of signed parameters replaced by Placeholder,
// keeping every other byte (order, encoding, separators) as it was.
func Query(q string) string {
	if q == "" {
		return q
	}
	var b strings.Builder
	changed := false
	for i, part := range strings.Split(q, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		for j, sub := range strings.Split(part, ";") {
			if j > 0 {
				b.WriteByte(';')
			}
			name, _, hasValue := strings.Cut(sub, "=")
			if un, err := url.QueryUnescape(name); err == nil {
				name = un
			}
			if IsSigned(name) {
				raw, _, _ := strings.Cut(sub, "=")
				b.WriteString(raw)
				if hasValue {
					b.WriteString("=" + Placeholder)
				}
				changed = changed || hasValue
				continue
			}
			b.WriteString(sub)
		}
	}
	if !changed {
		return q
	}
	return b.String()
}

// String redacts every URL found in s: the values of signed query parameters after a '?' or
// '&' (or ';'), and user information before an '@' in an http(s) URL. It is for messages that
// quote a URL among other text, such as the text of an error made elsewhere.
func String(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '?' || c == '&' || c == ';' {
			b.WriteByte(c)
			i++
			// A parameter name runs to '=' (no separator or space in between).
			j := i
			for j < len(s) && !isNameEnd(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '=' {
				name := s[i:j]
				if un, err := url.QueryUnescape(name); err == nil {
					name = un
				}
				if IsSigned(name) {
					b.WriteString(s[i : j+1])
					b.WriteString(Placeholder)
					k := j + 1
					for k < len(s) && !isValueEnd(s[k]) {
						k++
					}
					i = k
					continue
				}
			}
			continue
		}
		if (c == 'h' || c == 'H') && hasSchemePrefix(s[i:]) {
			start := i + strings.Index(s[i:], "//") + 2
			end := start
			for end < len(s) && !isAuthorityEnd(s[end]) {
				end++
			}
			b.WriteString(s[i:start])
			auth := s[start:end]
			if at := strings.LastIndexByte(auth, '@'); at >= 0 {
				auth = auth[at+1:]
			}
			b.WriteString(auth)
			i = end
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func mayHoldSecret(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "signature") || strings.Contains(l, "x-amz-credential") ||
		strings.Contains(l, "x-amz-security-token") || strings.Contains(l, "awsaccesskeyid") ||
		strings.Contains(l, "@") || strings.Contains(l, "%40")
}

func hasSchemePrefix(s string) bool {
	l := strings.ToLower(s[:min(len(s), 8)])
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

func isNameEnd(c byte) bool {
	return c == '=' || c == '&' || c == ';' || c == '?' || c == '#' || c == ' ' || c == '"' || c == '\'' || c == '\n' || c == '\t' || c == '`' || c == '<' || c == '>'
}

func isValueEnd(c byte) bool {
	return c == '&' || c == ';' || c == '#' || c == ' ' || c == '"' || c == '\'' || c == '\n' || c == '\t' || c == '`' || c == '<' || c == '>' || c == ')' || c == ','
}

func isAuthorityEnd(c byte) bool {
	return c == '/' || c == '?' || c == '#' || c == ' ' || c == '"' || c == '\'' || c == '\n' || c == '\t' || c == '`' || c == '<' || c == '>'
}

// Error returns err with every URL in its text redacted, or err itself when its text holds
// nothing to redact (nil stays nil). A *url.Error (what net/http's Client returns) comes back as
// a *url.Error with its URL redacted and the same Err, so errors.As and errors.Is find what
// they found before; any other error comes back wrapped in an error whose text is redacted and
// whose Unwrap returns err. The wrapped error's own text is not changed: callers that print a
// wrapped error's cause themselves must redact it too.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue == err {
		if u, perr := url.Parse(ue.URL); perr == nil {
			red := URL(u)
			inner := Error(ue.Err)
			if red != ue.URL || inner != ue.Err {
				return &url.Error{Op: ue.Op, URL: red, Err: inner}
			}
			return err
		}
	}
	msg := err.Error()
	if red := String(msg); red != msg {
		return &redacted{msg: red, err: err}
	}
	return err
}

// redacted is an error whose text had credentials removed; Unwrap returns the original.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// Timeout and Temporary pass on the original error's answers, as *url.Error asks its Err.
func (r *redacted) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(r.err, &t) && t.Timeout()
}

func (r *redacted) Temporary() bool {
	var t interface{ Temporary() bool }
	return errors.As(r.err, &t) && t.Temporary()
}
