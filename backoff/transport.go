package backoff

import (
	"context"
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
	// UnexpectedEOF: the response ended early.
	UnexpectedEOF
	// TransportTimeout: the attempt timed out (a net.Error with Timeout() true, or a deadline).
	TransportTimeout
	// Canceled: the caller cancelled the call's context. Never retried.
	Canceled
	// OtherTransportError: any other failure to send or receive. Not retried.
	OtherTransportError
)

var transportNames = [...]string{"none", "conn_reset", "conn_refused", "unexpected_eof", "timeout", "canceled", "other"}

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
func TransportOf(err error) Transport {
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
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return UnexpectedEOF
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		switch {
		case dnsErr.IsTimeout:
			return TransportTimeout
		case dnsErr.IsTemporary:
			return ConnRefused
		}
		return OtherTransportError
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return TransportTimeout
	}
	return OtherTransportError
}
