package backoff

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	c := DefaultClassifier()
	cases := []struct {
		s    Signal
		want Class
	}{
		{Signal{}, Success},
		{Signal{Status: 200}, Success},
		{Signal{Code: "RequestLimitExceeded", Status: 503}, Throttle},
		{Signal{Code: "SlowDown", Status: 503}, Throttle},
		{Signal{Code: "ProvisionedThroughputExceededException", Status: 400}, Throttle},
		{Signal{Code: "Throttling", Status: 400}, Throttle},
		{Signal{Code: "TooManyRequestsException", Status: 429}, Throttle},
		{Signal{Code: "LimitExceededException", Status: 400}, Throttle},
		{Signal{Code: "Client.RequestLimitExceeded"}, Throttle},
		{Signal{Code: "UnknownError", Status: 429}, Throttle},
		{Signal{Status: 429}, Throttle},
		{Signal{Code: "RequestTimeout", Status: 400}, Transient},
		{Signal{Code: "RequestTimeoutException", Status: 400}, Transient},
		{Signal{Code: "InternalError", Status: 500}, Transient},
		{Signal{Code: "ServiceUnavailable", Status: 503}, Transient},
		{Signal{Status: 502}, Transient},
		{Signal{Status: 504}, Transient},
		{Signal{Transport: ConnReset}, Transient},
		{Signal{Transport: ConnRefused}, Transient},
		{Signal{Transport: UnexpectedEOF}, Transient},
		{Signal{Transport: TransportTimeout}, Timeout},
		{Signal{Transport: Canceled}, NonRetryable},
		{Signal{Transport: Canceled, Code: "SlowDown", Status: 503}, NonRetryable},
		{Signal{Transport: OtherTransportError}, NonRetryable},
		{Signal{Transport: SendFailed}, Transient},
		{Signal{Transport: NameNotFound}, NonRetryable},
		{Signal{Transport: BadCertificate}, NonRetryable},
		{Signal{Status: 200, Transport: UnexpectedEOF}, Transient},
		{Signal{Status: 200, Transport: ConnReset}, Transient},
		{Signal{Code: "AccessDenied", Status: 403}, NonRetryable},
		{Signal{Code: "ValidationException", Status: 400}, NonRetryable},
		{Signal{Status: 404}, NonRetryable},
		{Signal{Code: "Weird", Status: 200}, NonRetryable},
	}
	for _, tc := range cases {
		if got := c.Classify(tc.s); got != tc.want {
			t.Errorf("Classify(%+v) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestClassifierReclassify(t *testing.T) {
	c := NewClassifier(
		WithCodes(NonRetryable, "LimitExceededException"),
		WithCodes(Throttle, "ClientException"),
		WithoutCodes("SlowDown"),
	)
	if got := c.Classify(Signal{Code: "LimitExceededException", Status: 400}); got != NonRetryable {
		t.Errorf("reclassified LimitExceededException = %v", got)
	}
	// A known non-throttle code keeps a 429 from being a throttle.
	if got := c.Classify(Signal{Code: "LimitExceededException", Status: 429}); got != NonRetryable {
		t.Errorf("429 with a known non-throttle code = %v, want non_retryable", got)
	}
	if got := c.Classify(Signal{Code: "ClientException", Status: 400}); got != Throttle {
		t.Errorf("added ClientException = %v", got)
	}
	if got := c.Classify(Signal{Code: "SlowDown", Status: 503}); got != Transient {
		t.Errorf("removed SlowDown with 503 = %v, want transient by status", got)
	}
	// The default classifier is untouched.
	if got := DefaultClassifier().Classify(Signal{Code: "LimitExceededException"}); got != Throttle {
		t.Errorf("default classifier changed: %v", got)
	}
}

func TestThrottleCodesTable(t *testing.T) {
	if _, err := parseCodes(errorCodesCSV); err != nil {
		t.Fatal(err)
	}
	codes := ThrottleCodes()
	if len(codes) != 14 {
		t.Fatalf("%d throttle codes, want the SDK's 14: %v", len(codes), codes)
	}
	for _, code := range codes {
		if DefaultClassifier().Classify(Signal{Code: code}) != Throttle {
			t.Errorf("%s is not a throttle", code)
		}
	}
	if _, err := parseCodes("code,class,source\nX,bogus,here\n"); err == nil {
		t.Error("bad class accepted")
	}
}

func TestTransportOf(t *testing.T) {
	timeoutErr := &net.DNSError{Err: "timeout", IsTimeout: true}
	cases := []struct {
		err  error
		want Transport
	}{
		{nil, NoTransportError},
		{context.Canceled, Canceled},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), TransportTimeout},
		{&url.Error{Op: "Post", URL: "http://127.0.0.1", Err: &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, ConnReset},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, ConnRefused},
		{fmt.Errorf("body: %w", io.ErrUnexpectedEOF), UnexpectedEOF},
		{timeoutErr, TransportTimeout},
		{errors.New("something else"), OtherTransportError},
		{fmt.Errorf("Post: %w", io.EOF), UnexpectedEOF},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, NameNotFound},
		{&net.DNSError{Err: "server misbehaving", Name: "x.invalid", IsTemporary: true}, ConnRefused},
		{fmt.Errorf("read: %w", onlyTimeout{}), TransportTimeout},
		{fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), BadCertificate},
		{&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "x"}}, BadCertificate},
		{x509.CertificateInvalidError{Reason: x509.Expired}, BadCertificate},
		{fmt.Errorf("canceled while reading: %w", errors.Join(context.Canceled, io.ErrUnexpectedEOF)), Canceled},
	}
	for _, tc := range cases {
		if got := TransportOf(tc.err); got != tc.want {
			t.Errorf("TransportOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	for _, s := range []Transport{NoTransportError, ConnReset, ConnRefused, UnexpectedEOF, TransportTimeout, Canceled,
		OtherTransportError, NameNotFound, BadCertificate, SendFailed} {
		if s.String() == "unknown" || s.String() == "" {
			t.Errorf("Transport(%d) has no name", s)
		}
	}
}

// onlyTimeout is a timeout that is not a net.Error (like the SDK's ResponseTimeoutError).
type onlyTimeout struct{}

func (onlyTimeout) Error() string { return "read on body reach timeout limit" }
func (onlyTimeout) Timeout() bool { return true }

// ResponseTransportOf is for errors that came with a response: a decoder's io.EOF at the end of
// a complete body is not a transport failure; a body cut short is.
func TestResponseTransportOf(t *testing.T) {
	cases := []struct {
		err  error
		want Transport
	}{
		{nil, NoTransportError},
		{fmt.Errorf("decode: %w", io.EOF), OtherTransportError},
		{fmt.Errorf("decode: %w", io.ErrUnexpectedEOF), UnexpectedEOF},
		{fmt.Errorf("decode: %w", syscall.ECONNRESET), ConnReset},
		{fmt.Errorf("decode: %w", onlyTimeout{}), TransportTimeout},
		{errors.New("invalid character '<'"), OtherTransportError},
	}
	for _, tc := range cases {
		if got := ResponseTransportOf(tc.err); got != tc.want {
			t.Errorf("ResponseTransportOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A TLS handshake with a server whose certificate the client does not trust fails with
// BadCertificate; a plain read timeout on a real connection is TransportTimeout.
func TestTransportOfRealTLSAndTimeout(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
	defer tr.CloseIdleConnections()
	_, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if got := TransportOf(err); got != BadCertificate {
		t.Errorf("untrusted certificate: %v → %v, want bad_certificate", err, got)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now()) // already passed: the read fails at once
	_, err = c.Read(make([]byte, 1))
	if got := TransportOf(err); got != TransportTimeout {
		t.Errorf("read past its deadline: %v → %v, want timeout", err, got)
	}
}

func TestTransportOfRealConnections(t *testing.T) {
	// A refused connection on loopback: listen, close, dial the freed port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = net.Dial("tcp", addr)
	if err == nil {
		t.Fatalf("dial to the closed port %s succeeded", addr)
	}
	if got := TransportOf(err); got != ConnRefused {
		t.Errorf("dial to a closed port: %v → %v, want conn_refused", err, got)
	}
}
