package middleware

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// faultServer is an HTTP server on a real loopback socket whose first `faulty` requests fail in
// a programmed way — at the TCP level (reset, close, stall) or with an AWS error in the
// protocol's wire format — and whose later requests are answered by next (the emulator). It
// records every request body it read in full.
type faultServer struct {
	t      testing.TB
	srv    *httptest.Server
	next   http.Handler
	fault  func(s *faultServer, w http.ResponseWriter, r *http.Request)
	faulty int

	// headersSeen receives a value when the client's HTTP transport has parsed a response's
	// headers (see notifyClient), so a fault can reset the connection after that point and
	// not before.
	headersSeen chan struct{}
	// requestSeen receives a value when a faulty request has reached the handler.
	requestSeen chan struct{}

	mu       sync.Mutex
	requests int
	bodies   [][]byte // bodies read in full, in order
}

// faultServerOptions configure a faultServer.
type faultServerOptions struct {
	// fault answers the first `faulty` requests.
	fault  func(s *faultServer, w http.ResponseWriter, r *http.Request)
	faulty int
	// tls serves HTTPS with httptest's certificate (trusted by s.srv.Client's pool).
	tls bool
	// tlsFault, with tls, gets the first tlsFaults raw connections before any TLS byte.
	tlsFault  func(net.Conn)
	tlsFaults int
}

// newFaultServer starts a server on 127.0.0.1 answering with opts' faults, then with next.
func newFaultServer(t testing.TB, next http.Handler, opts faultServerOptions) *faultServer {
	t.Helper()
	s := &faultServer{t: t, next: next, fault: opts.fault, faulty: opts.faulty,
		headersSeen: make(chan struct{}, 1), requestSeen: make(chan struct{}, 1)}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the faults provoke errors on purpose
	if opts.tlsFaults > 0 {
		l := &tlsListener{Listener: s.srv.Listener, faulty: opts.tlsFaults, fault: opts.tlsFault}
		s.srv.Listener = l
		t.Cleanup(l.wg.Wait)
	}
	if opts.tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.close)
	return s
}

func (s *faultServer) close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// URL is the server's base URL.
func (s *faultServer) URL() string { return s.srv.URL }

// count returns the requests the server has received.
func (s *faultServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.mu.Unlock()
	if n <= s.faulty && s.fault != nil {
		select {
		case s.requestSeen <- struct{}{}:
		default:
		}
		s.fault(s, w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	s.next.ServeHTTP(w, r)
}

// waitHeadersSeen blocks until the client has parsed a response's headers, or the request's
// context ends (the client went away).
func (s *faultServer) waitHeadersSeen(r *http.Request) {
	select {
	case <-s.headersSeen:
	case <-r.Context().Done():
	}
}

// hijack takes the connection of w and returns it, with the request's body read to the end so
// that what the server does next does not race the client's upload.
func hijack(w http.ResponseWriter, r *http.Request) net.Conn {
	io.Copy(io.Discard, r.Body)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("hijack: %v", err)) // the test servers speak HTTP/1.1: cannot happen
	}
	return conn
}

// resetConn closes conn with a TCP RST (SO_LINGER 0) instead of a FIN.
func resetConn(conn net.Conn) {
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	raw.Close()
}

// recordResponse runs next on r and returns the response it wrote, status, headers and body.
func recordResponse(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

// writeHead writes a raw HTTP/1.1 status line and headers announcing a body of length bytes.
func writeHead(conn net.Conn, rec *httptest.ResponseRecorder, length int) {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	for k, vs := range rec.Header() {
		if k == "Content-Length" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n", length)
	io.WriteString(conn, b.String())
}

// The TCP-level faults. Each answers one request and leaves the connection unusable.

// faultResetBeforeHeaders reads the request and resets the connection without a response.
func faultResetBeforeHeaders(_ *faultServer, w http.ResponseWriter, r *http.Request) {
	resetConn(hijack(w, r))
}

// faultCloseBeforeHeaders reads the request and closes the connection (FIN) without a response:
// the client reads EOF where the status line should be.
func faultCloseBeforeHeaders(_ *faultServer, w http.ResponseWriter, r *http.Request) {
	hijack(w, r).Close()
}

// faultResetAfterHeaders sends the real response's headers, waits until the client has parsed
// them, then resets the connection before any byte of the body.
func faultResetAfterHeaders(s *faultServer, w http.ResponseWriter, r *http.Request) {
	rec := recordResponse(s.next, r)
	conn := hijack(w, r)
	writeHead(conn, rec, rec.Body.Len())
	s.waitHeadersSeen(r)
	resetConn(conn)
}

// faultResetMidBody sends the headers and half of the real body, then resets the connection.
func faultResetMidBody(s *faultServer, w http.ResponseWriter, r *http.Request) {
	rec := recordResponse(s.next, r)
	conn := hijack(w, r)
	body := rec.Body.Bytes()
	writeHead(conn, rec, len(body))
	conn.Write(body[:len(body)/2])
	s.waitHeadersSeen(r)
	resetConn(conn)
}

// faultCloseMidBody sends the headers and half of the real body, then closes the connection
// cleanly: the body ends before its Content-Length.
func faultCloseMidBody(s *faultServer, w http.ResponseWriter, r *http.Request) {
	rec := recordResponse(s.next, r)
	conn := hijack(w, r)
	body := rec.Body.Bytes()
	writeHead(conn, rec, len(body))
	conn.Write(body[:len(body)/2])
	conn.Close()
}

// faultStallBeforeHeaders reads the request and sends nothing until the client gives up.
func faultStallBeforeHeaders(_ *faultServer, w http.ResponseWriter, r *http.Request) {
	conn := hijack(w, r)
	defer conn.Close()
	io.Copy(io.Discard, conn) // returns when the client closes its end
}

// faultStallMidBody sends the headers and half of the body, then nothing until the client gives up.
func faultStallMidBody(s *faultServer, w http.ResponseWriter, r *http.Request) {
	rec := recordResponse(s.next, r)
	conn := hijack(w, r)
	defer conn.Close()
	body := rec.Body.Bytes()
	writeHead(conn, rec, len(body))
	conn.Write(body[:len(body)/2])
	io.Copy(io.Discard, conn)
}

// faultGarbage answers with bytes that are not HTTP.
func faultGarbage(_ *faultServer, w http.ResponseWriter, r *http.Request) {
	conn := hijack(w, r)
	io.WriteString(conn, "SSH-2.0-OpenSSH_9.6 not http\r\n\r\n")
	conn.Close()
}

// faultGarbageBody answers 200 with the real headers and a complete body that is not the
// protocol's XML or JSON.
func faultGarbageBody(s *faultServer, w http.ResponseWriter, r *http.Request) {
	rec := recordResponse(s.next, r)
	for k, vs := range rec.Header() {
		if k != "Content-Length" && !strings.EqualFold(k, "X-Amz-Crc32") {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "<<<\x00 not a response body {{{")
}

// notifyClient is the SDK's HTTP client with a hook called when a response's headers have been
// parsed; faults that must act after the headers reached the client wait for it. It passes
// every request, response and error through unchanged.
type notifyClient struct {
	c        *awshttp.BuildableClient
	onHeader func()
}

func (n notifyClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := n.c.Do(req)
	if err == nil && n.onHeader != nil {
		n.onHeader()
	}
	return resp, err
}

// notifyHeaders returns an onHeader hook that tells s.
func notifyHeaders(s *faultServer) func() {
	return func() {
		select {
		case s.headersSeen <- struct{}{}:
		default:
		}
	}
}

// sdkHTTPClient returns the SDK's own HTTP client (BuildableClient) with keep-alives off, so
// every attempt opens its own connection and net/http never retries a request by itself on a
// reused one. roots, when not nil, are the CAs it trusts; resolver, when not nil, resolves
// names.
func sdkHTTPClient(roots *x509.CertPool, resolver *net.Resolver) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTransportOptions(func(tr *http.Transport) {
			tr.DisableKeepAlives = true
			if roots != nil {
				tr.TLSClientConfig = tr.TLSClientConfig.Clone()
				if tr.TLSClientConfig == nil {
					tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				tr.TLSClientConfig.RootCAs = roots
			}
		}).
		WithDialerOptions(func(d *net.Dialer) {
			if resolver != nil {
				d.Resolver = resolver
			}
		})
}

// closedPort returns a loopback address on which nothing listens: connecting to it is refused.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// dnsStub is a DNS server on a loopback UDP port that answers every query with one response
// code (3: NXDOMAIN, 2: SERVFAIL). A net.Resolver pointed at it never sends a query off the
// machine, whatever /etc/resolv.conf says.
type dnsStub struct {
	conn    net.PacketConn
	rcode   byte
	queries int
	mu      sync.Mutex
	done    chan struct{}
}

func startDNSStub(t testing.TB, rcode byte) *dnsStub {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsStub{conn: conn, rcode: rcode, done: make(chan struct{})}
	go d.serve()
	t.Cleanup(func() {
		conn.Close()
		<-d.done
	})
	return d
}

func (d *dnsStub) serve() {
	defer close(d.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := d.answer(buf[:n]); resp != nil {
			d.conn.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query: the query's ID and question, no records, and the
// stub's response code.
func (d *dnsStub) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 { // QNAME labels
		end += int(q[end]) + 1
	}
	end += 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	d.mu.Lock()
	d.queries++
	d.mu.Unlock()
	resp := make([]byte, end)
	copy(resp, q[:end])
	resp[2] = 0x80 | q[2]&0x79 // QR, the query's opcode and RD
	resp[3] = 0x80 | d.rcode   // RA, RCODE
	resp[4], resp[5] = 0, 1    // QDCOUNT
	for i := 6; i < 12; i++ {  // ANCOUNT, NSCOUNT, ARCOUNT
		resp[i] = 0
	}
	return resp
}

func (d *dnsStub) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries
}

// resolver returns a pure-Go resolver that sends every query to the stub.
func (d *dnsStub) resolver() *net.Resolver {
	addr := d.conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "udp", addr)
	}}
}

// tlsListener accepts TLS connections for an http.Server, but hands the first `faulty`
// connections to fault instead: it sees the raw TCP connection before any TLS byte.
type tlsListener struct {
	net.Listener
	mu     sync.Mutex
	faulty int
	fault  func(net.Conn)
	wg     sync.WaitGroup
}

func (l *tlsListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		faulty := l.faulty > 0
		if faulty {
			l.faulty--
		}
		l.mu.Unlock()
		if !faulty {
			return c, nil
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.fault(c)
		}()
	}
}

// readClientHello reads the first TLS record the client sends.
func readClientHello(c net.Conn) {
	br := bufio.NewReader(c)
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return
	}
	io.CopyN(io.Discard, br, int64(hdr[3])<<8|int64(hdr[4]))
}

// tlsFaultResetHandshake resets the connection right after the ClientHello.
func tlsFaultResetHandshake(c net.Conn) {
	readClientHello(c)
	resetConn(c)
}

// tlsFaultAlert answers the handshake with a TLS alert: the server has no certificate to offer.
func tlsFaultAlert(c net.Conn) {
	srv := tls.Server(c, &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("no certificate for this name")
	}})
	srv.Handshake()
	srv.Close()
}

// roots returns a pool trusting the server's TLS certificate.
func (s *faultServer) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	return pool
}
