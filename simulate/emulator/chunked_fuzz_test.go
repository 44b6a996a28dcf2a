package emulator

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// encodeAWSChunked frames payload as aws-chunked with the given chunk sizes (cycled; 0 is
// taken as 1), a chunk-signature extension on every other chunk, and one trailer.
func encodeAWSChunked(payload []byte, sizes []byte) []byte {
	var b bytes.Buffer
	for i := 0; len(payload) > 0; i++ {
		n := 1
		if len(sizes) > 0 {
			n = max(int(sizes[i%len(sizes)]), 1)
		}
		n = min(n, len(payload))
		fmt.Fprintf(&b, "%x", n)
		if i%2 == 1 {
			b.WriteString(";chunk-signature=" + strings.Repeat("0", 64))
		}
		b.WriteString("\r\n")
		b.Write(payload[:n])
		b.WriteString("\r\n")
		payload = payload[n:]
	}
	b.WriteString("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
	return b.Bytes()
}

// FuzzAWSChunked feeds the aws-chunked decoder arbitrary bodies and checks that it never
// panics, never holds more than its limit, accounts every byte it holds in the store (and
// gives all of it back), and decodes exactly what encodeAWSChunked framed.
func FuzzAWSChunked(f *testing.F) {
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"), []byte("abc"), []byte{2}, uint16(64))
	f.Add([]byte("fffffff\r\n"+strings.Repeat("x", 200)), []byte{}, []byte{1}, uint16(1000))
	f.Add([]byte("ffffffffffffffff\r\n"), []byte("x"), []byte{0}, uint16(10))
	f.Add([]byte("3;chunk-signature=ab\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"), []byte("hello world"), []byte{3, 1}, uint16(5))
	f.Add([]byte("-1\r\n"), []byte(strings.Repeat("z", 300)), []byte{255, 7}, uint16(300))
	f.Add([]byte("3\r\nabcXX0\r\n\r\n"), []byte{}, []byte{}, uint16(0))
	f.Add([]byte("0\r\n"+strings.Repeat("k:v\r\n", 40)+"\r\n"), []byte("a"), []byte{1}, uint16(1))
	f.Fuzz(func(t *testing.T, body, payload, sizes []byte, limit uint16) {
		space := &budget{limit: 1 << 16}
		// Arbitrary bodies.
		u := newUpload(space, int64(limit), -1)
		err := readAWSChunked(bytes.NewReader(body), u, http.Header{})
		if int64(len(u.data)) > int64(limit) {
			t.Fatalf("decoded %d bytes, over the limit %d", len(u.data), limit)
		}
		if held := space.used.Load(); held != int64(cap(u.data)) || held != u.held {
			t.Fatalf("store counts %d bytes, the upload holds %d (capacity %d)", held, u.held, cap(u.data))
		}
		if err == nil && cap(u.data) > 2*len(u.data)+4<<10 {
			t.Fatalf("capacity %d for %d bytes", cap(u.data), len(u.data))
		}
		u.release()
		if used := space.used.Load(); used != 0 {
			t.Fatalf("%d bytes still reserved after release", used)
		}
		// Round trip.
		payload = payload[:min(len(payload), 1<<12)]
		u = newUpload(space, int64(len(payload)), int64(len(payload)))
		trailer := http.Header{}
		if err := readAWSChunked(bytes.NewReader(encodeAWSChunked(payload, sizes)), u, trailer); err != nil {
			t.Fatalf("decoding a valid encoding: %v", err)
		}
		if !bytes.Equal(u.data, payload) || trailer.Get("x-amz-checksum-crc32") != "AAAAAA==" {
			t.Fatalf("round trip: got %q (trailer %v), want %q", u.data, trailer, payload)
		}
		if len(payload) > 0 && cap(u.data) != len(payload) {
			t.Fatalf("a declared length of %d got capacity %d", len(payload), cap(u.data))
		}
		u.release()
	})
}
