//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/clitest"
)

// s3Put sends a PutObject with the given body and headers to the emulator and returns the
// status and the S3 error code.
func s3Put(t *testing.T, url, key string, body []byte, chunked bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url+"/data/"+key, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x")
	if chunked {
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", key, err)
	}
	defer resp.Body.Close()
	var e struct{ Code string }
	b, _ := io.ReadAll(resp.Body)
	xml.Unmarshal(b, &e)
	return resp.StatusCode, e.Code
}

// The hostile clients against `tollgate emulate` run as a user runs it: PUTs declaring
// a 256 MB chunk (8 of them took 2.1 GB), a store filled past its size, a body that stops
// half-way and connections that never send a request (500 of each were all still open after
// 70 s). The emulator answers them as S3 would, keeps serving, holds bounded memory (its
// peak RSS), and stops within a second of SIGINT with exit status 130.
func TestEmulateHostileClients(t *testing.T) {
	p := clitest.Start(t, tollgate.Path(t), "emulate", "--listen", "127.0.0.1:0", "--max-object-size", "256KiB", "--max-store-size", "1MiB",
		"--body-idle-timeout", "300ms", "--read-header-timeout", "300ms", "--idle-timeout", "300ms")
	p.WaitFor(t, "serving", func(out, _ string) bool { return strings.Contains(out, "\n") })
	url, _, _ := strings.Cut(p.Stdout(), "\n")
	host := strings.TrimPrefix(url, "http://")

	for i := range 8 {
		if status, code := s3Put(t, url, fmt.Sprint("bomb", i), []byte("fffffff\r\n"+strings.Repeat("x", 200)), true); status != 400 || code != "EntityTooLarge" {
			t.Fatalf("PUT declaring a 256 MB chunk: %d %s, want 400 EntityTooLarge", status, code)
		}
	}
	obj := bytes.Repeat([]byte{'a'}, 250<<10)
	for i := range 4 {
		if status, code := s3Put(t, url, fmt.Sprint("obj", i), obj, false); status != 200 {
			t.Fatalf("PUT %d of 250 KiB: %d %s", i, status, code)
		}
	}
	if status, code := s3Put(t, url, "obj4", obj, false); status != 507 || code != "InsufficientCapacity" {
		t.Fatalf("PUT past the store's 1 MiB: %d %s, want 507 InsufficientCapacity", status, code)
	}

	// Connections that send nothing, and a body that stops: the server cuts them.
	var idle []net.Conn
	for range 100 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	slow, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "PUT /data/slow HTTP/1.1\r\nHost: %s\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x\r\n"+
		"Content-Length: 100000\r\n\r\n0123456789", host)
	slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatalf("a body that stopped half-way got no answer: %v", err)
	}
	var e struct{ Code string }
	b, _ := io.ReadAll(resp.Body)
	xml.Unmarshal(b, &e)
	if resp.StatusCode != 400 || e.Code != "RequestTimeout" {
		t.Errorf("a body that stopped half-way: %d %s, want 400 RequestTimeout (S3's answer)", resp.StatusCode, e.Code)
	}
	for i, c := range idle {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection %d: read %d bytes, %v; want it closed by the server", i, n, err)
		}
	}
	if err := callerIdentity(url); err != nil {
		t.Errorf("a normal request after the hostile ones: %v", err)
	}

	peak := p.PeakRSS(t)
	r, took := p.Interrupt(t, os.Interrupt)
	if r.Code != 130 || !strings.Contains(r.Stderr, "tollgate emulate: interrupted") {
		t.Errorf("after SIGINT: exit %d, stderr %s", r.Code, r.Stderr)
	}
	if took > clitest.InterruptBound() {
		t.Errorf("exited %v after SIGINT, more than %v", took, clitest.InterruptBound())
	}
	if bound := clitest.RSSBound(64 << 20); peak > bound {
		t.Errorf("peak RSS %s, more than %s", clitest.MiB(peak), clitest.MiB(bound))
	}
	t.Logf("peak RSS %s (bound %s); exited %v after SIGINT", clitest.MiB(peak), clitest.MiB(clitest.RSSBound(64<<20)), took.Round(time.Millisecond))
}
