package middleware

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// uploadRecorder keeps the raw bytes each PutObject attempt delivered to the server — as they
// came off the wire, aws-chunked framing and trailer included — and its headers.
type uploadRecorder struct {
	mu       sync.Mutex
	attempts [][]byte
	headers  []http.Header
}

func (u *uploadRecorder) add(body []byte, h http.Header) {
	u.mu.Lock()
	u.attempts = append(u.attempts, body)
	u.headers = append(u.headers, h.Clone())
	u.mu.Unlock()
}

// uploadFault resets the connection of the first PutObject after reading `read` bytes of its
// body (all of it when read < 0), and hands later requests to the emulator, recording every
// PutObject body.
func uploadFault(rec *uploadRecorder, read int) func(*faultServer, http.ResponseWriter, *http.Request) {
	return func(_ *faultServer, w http.ResponseWriter, r *http.Request) {
		var got []byte
		if read < 0 {
			got, _ = io.ReadAll(r.Body)
		} else {
			got, _ = io.ReadAll(io.LimitReader(r.Body, int64(read)))
		}
		rec.add(got, r.Header)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		resetConn(conn) // bytes of the body still unread: the kernel answers with a RST
	}
}

// recordingEmulator records PutObject bodies before the emulator stores them.
func recordingEmulator(emu http.Handler, rec *uploadRecorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			body, _ := io.ReadAll(r.Body)
			rec.add(body, r.Header)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		emu.ServeHTTP(w, r)
	})
}

// putAndRead uploads body to key through client and reads the object back from the emulator.
func putAndRead(t *testing.T, client *s3.Client, key string, body io.Reader, checksum bool) ([]byte, error) {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(key), Body: body}
	if checksum {
		in.ChecksumAlgorithm = s3types.ChecksumAlgorithmCrc32c
	}
	if _, err := client.PutObject(context.Background(), in); err != nil {
		return nil, err
	}
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// After a connection reset mid-upload (and after the whole body was read), the retry sends the
// same bytes — over plain HTTP (signed payload, checksum header) and over TLS (aws-chunked
// encoding with a trailing CRC32C checksum) — with tollgate exactly as with the SDK's standard
// retryer, in the same number of attempts; the stored object is byte-identical to the original.
func TestUploadRetriedAfterResetResendsIdenticalBytes(t *testing.T) {
	payload := make([]byte, 512<<10)
	rand.NewChaCha8([32]byte{13}).Read(payload)
	for _, tc := range []struct {
		name   string
		tls    bool
		read   int
		prefix bool // the first attempt was cut off: compare its bytes as a prefix
	}{
		{"http reset mid-upload", false, 64 << 10, true},
		{"http reset after upload", false, -1, false},
		{"tls aws-chunked reset mid-upload", true, 64 << 10, true},
		{"tls aws-chunked reset after upload", true, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attempts := map[string]int{}
			for _, who := range []string{"SDK", "tollgate"} {
				emu := newEmulator(t, emulator.Options{Seed: 9})
				rec := &uploadRecorder{}
				s := newFaultServer(t, recordingEmulator(emu, rec), faultServerOptions{fault: uploadFault(rec, tc.read), faulty: 1, tls: tc.tls})
				var roots *x509.CertPool
				if tc.tls {
					roots = s.roots()
				}
				var tg *Tollgate
				if who == "tollgate" {
					tg = mustNew(t, Config{Seed: 3})
				}
				client := s3Client(tg, s.URL(), sdkHTTPClient(roots, nil))
				stored, err := putAndRead(t, client, "blobs/a.bin", bytes.NewReader(payload), true)
				if err != nil {
					t.Fatalf("%s: PutObject: %v", who, err)
				}
				if !bytes.Equal(stored, payload) {
					t.Fatalf("%s: stored %d bytes differ from the %d sent", who, len(stored), len(payload))
				}
				rec.mu.Lock()
				puts, headers := rec.attempts, rec.headers
				rec.mu.Unlock()
				attempts[who] = len(puts)
				if len(puts) != 2 {
					t.Fatalf("%s: %d PutObject attempts reached the server, want 2", who, len(puts))
				}
				first, second := puts[0], puts[1]
				if tc.prefix {
					if len(first) == 0 || !bytes.HasPrefix(second, first) {
						t.Errorf("%s: the retry's first %d bytes differ from what the failed attempt sent", who, len(first))
					}
				} else if !bytes.Equal(first, second) {
					t.Errorf("%s: the retry sent %d bytes that differ from the failed attempt's %d", who, len(second), len(first))
				}
				chunked := strings.Contains(headers[1].Get("Content-Encoding"), "aws-chunked") && headers[1].Get("X-Amz-Trailer") != ""
				if chunked != tc.tls {
					t.Errorf("%s: aws-chunked with trailer = %v (Content-Encoding %q, X-Amz-Trailer %q), want %v",
						who, chunked, headers[1].Get("Content-Encoding"), headers[1].Get("X-Amz-Trailer"), tc.tls)
				}
				if !tc.tls && !bytes.Equal(second, payload) {
					t.Errorf("%s: plain-HTTP retry body differs from the payload", who)
				}
			}
			if attempts["SDK"] != attempts["tollgate"] {
				t.Errorf("attempts: SDK %d, tollgate %d", attempts["SDK"], attempts["tollgate"])
			}
		})
	}
}

// A body that is not an io.Seeker, sent over TLS (where the SDK accepts it, with aws-chunked
// and a trailing checksum), cannot be sent again after a reset. The SDK backs off, then fails
// to rewind with an untyped error; tollgate stops at once with a typed, client-side
// *BodyNotSeekableError that says what to do. Neither sends a second request.
func TestUnseekableUploadFailsWithTypedError(t *testing.T) {
	payload := bytes.Repeat([]byte("tollgate "), 8<<10)
	for _, who := range []string{"SDK", "tollgate"} {
		emu := newEmulator(t, emulator.Options{Seed: 9})
		rec := &uploadRecorder{}
		s := newFaultServer(t, recordingEmulator(emu, rec), faultServerOptions{fault: uploadFault(rec, 1<<10), faulty: 1, tls: true})
		var tg *Tollgate
		obs := &recorder{}
		if who == "tollgate" {
			tg = mustNew(t, Config{Seed: 3, Observer: obs})
		}
		client := s3Client(tg, s.URL(), sdkHTTPClient(s.roots(), nil))
		_, err := putAndRead(t, client, "stream.bin", io.MultiReader(bytes.NewReader(payload)), true)
		if err == nil {
			t.Fatalf("%s: an unseekable upload survived a reset", who)
		}
		if n := s.count(); n != 1 {
			t.Errorf("%s: %d requests reached the server, want 1", who, n)
		}
		t.Logf("%s: %v", who, err)
		if who == "SDK" {
			continue
		}
		var bns *BodyNotSeekableError
		if !errors.As(err, &bns) || !bns.ClientSide() || bns.Operation != "PutObject" || bns.Service != "S3" || bns.Attempts != 1 {
			t.Fatalf("want *BodyNotSeekableError for S3 PutObject after 1 attempt, got %T %v", err, err)
		}
		if !strings.Contains(err.Error(), "not seekable") || !strings.Contains(err.Error(), "io.ReadSeeker") {
			t.Errorf("message does not say why and what to do: %v", err)
		}
		calls := obs.kinds(event.CallFinished)
		if len(calls) != 1 || calls[0].Reason != "body_not_rewindable" || calls[0].Attempts != 1 {
			t.Errorf("CallFinished events %+v, want one with reason body_not_rewindable after 1 attempt", calls)
		}
		if n := len(obs.kinds(event.BackoffScheduled)); n != 0 {
			t.Errorf("%d backoffs scheduled for a body that cannot be resent", n)
		}
	}
}
