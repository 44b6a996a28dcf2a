package backoff

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// Transport says how an attempt failed below HTTP, when it did. The middleware maps Go errors to
// a Transport with TransportOf; the simulator and trace replay set it directly.
type Transport uint8

const (
	// NoTransportError: the attempt reached the server and got an HTTP answer (or there was no error).
	NoTransportError Transport = iota
	// ConnReset: the connection was reset or closed under the request.
	ConnReset
	// ConnRefused: no connection could be made (refused, or a temporary DNS failure).
	ConnRefused
	// UnexpectedEOF: the connection ended before the response did (no response at all, or a
	// body shorter than its Content-Length).
	UnexpectedEOF
	// TransportTimeout: the attempt timed out on the client side (a dial, TLS handshake, header
	// or read timeout: an error with Timeout() true, or a deadline).
	TransportTimeout
	// Canceled: the caller cancelled the call's context. Never retried.
	Canceled
	// OtherTransportError: any other failure that TransportOf cannot name. Not retried: the error
	// may not even come from the network.
	OtherTransportError
	// NameNotFound: the endpoint's host name does not exist (DNS NXDOMAIN). Not retried: the
	// answer will not change in the next 100 ms.
	NameNotFound
	// BadCertificate: the server's TLS certificate failed verification (unknown authority, wrong
	// host name, expired). Not retried: the same certificate comes back on every attempt.
	BadCertificate
	// SendFailed: the request could not be sent or its response not received, for a reason
	// TransportOf cannot name (a TLS alert, a malformed response, an HTTP/2 GOAWAY, ...). An
	// adapter sets it when it knows the error came from the wire — the SDK wraps every failure of
	// its HTTP client in smithy-go's RequestSendError — where TransportOf would say
	// OtherTransportError. Retried like a reset.
	SendFailed
)

var transportNames = [...]string{"none", "conn_reset", "conn_refused", "unexpected_eof", "timeout",
	"canceled", "other", "name_not_found", "bad_certificate", "send_failed"}

// String returns a short name such as "conn_reset".
func (t Transport) String() string {
	if int(t) < len(transportNames) {
		return transportNames[t]
	}
	return "unknown"
}

// TransportOf maps an error returned by an HTTP client (possibly wrapped, e.g. in *url.Error or an
// SDK error) to a Transport. It looks only at error types and values, never at messages. A nil
// error is NoTransportError; an error it does not recognise is OtherTransportError.
//
// io.EOF counts as UnexpectedEOF: an HTTP client returns it when the server closed the
// connection without answering. A caller classifying an error that came with a response should
// use ResponseTransportOf, which does not.
func TransportOf(err error) Transport {
	tr := ResponseTransportOf(err)
	if tr == OtherTransportError && errors.Is(err, io.EOF) {
		return UnexpectedEOF
	}
	return tr
}

// ResponseTransportOf is TransportOf for an error that came with an HTTP response, such as a
// failure to read or decode the response's body. A plain io.EOF there means a decoder reached
// the end of a complete body — not a transport failure — so it is not counted; a body cut off
// before its Content-Length (io.ErrUnexpectedEOF), a reset, or a read timeout are.
func ResponseTransportOf(err error) Transport {
	if err == nil {
		return NoTransportError
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return TransportTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, net.ErrClosed):
		return ConnReset
	case errors.Is(err, syscall.ECONNREFUSED):
		return ConnRefused
	case errors.Is(err, io.ErrUnexpectedEOF):
		return UnexpectedEOF
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		switch {
		case dnsErr.IsTimeout:
			return TransportTimeout
		case dnsErr.IsNotFound:
			return NameNotFound
		case dnsErr.IsTemporary:
			return ConnRefused
		}
		return OtherTransportError
	}
	if isBadCertificate(err) {
		return BadCertificate
	}
	// net.Error, and timeouts that only say Timeout() (the SDK's read timeout, for one).
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return TransportTimeout
	}
	return OtherTransportError
}

// isBadCertificate reports whether err says the server's certificate failed verification.
func isBadCertificate(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &unknownAuthority) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}
