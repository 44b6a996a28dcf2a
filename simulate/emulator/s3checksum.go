package emulator

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// s3ChecksumAlgorithms are the full-object checksums the emulator verifies and returns, by the
// name in x-amz-checksum-<name> (lower case) and S3's algorithm name.
var s3ChecksumAlgorithms = []struct {
	header, name string
	newHash      func() hash.Hash
}{
	{"x-amz-checksum-crc32", "CRC32", func() hash.Hash { return crc32.NewIEEE() }},
	{"x-amz-checksum-crc32c", "CRC32C", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
	{"x-amz-checksum-crc64nvme", "CRC64NVME", func() hash.Hash { return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)) }},
	{"x-amz-checksum-sha1", "SHA1", sha1.New},
	{"x-amz-checksum-sha256", "SHA256", sha256.New},
	{"x-amz-checksum-sha512", "SHA512", sha512.New},
	{"x-amz-checksum-md5", "MD5", md5.New},
}

// verifyChecksums checks data against the checksum headers (or aws-chunked trailers) the client
// sent and returns the first verified one to store. A mismatch is S3's BadDigest.
func verifyChecksums(h http.Header, data []byte) (alg, value string, aerr *apiError) {
	if v := h.Get("Content-MD5"); v != "" {
		sum := md5.Sum(data)
		if v != base64.StdEncoding.EncodeToString(sum[:]) {
			return "", "", &apiError{status: http.StatusBadRequest, code: "BadDigest",
				message: "The Content-MD5 you specified did not match what we received."}
		}
	}
	for _, a := range s3ChecksumAlgorithms {
		v := h.Get(a.header)
		if v == "" {
			continue
		}
		hh := a.newHash()
		hh.Write(data)
		if v != base64.StdEncoding.EncodeToString(hh.Sum(nil)) {
			return "", "", &apiError{status: http.StatusBadRequest, code: "BadDigest",
				message: "The " + a.name + " you specified did not match the calculated checksum."}
		}
		if alg == "" {
			alg, value = a.name, v
		}
	}
	return alg, value, nil
}

func checksumHeader(alg string) string { return "x-amz-checksum-" + strings.ToLower(alg) }

// isAWSChunked reports whether the request body uses the aws-chunked content encoding (SigV4
// streaming uploads and trailing checksums).
func isAWSChunked(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return true
	}
	for _, enc := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(enc) == "aws-chunked" {
			return true
		}
	}
	return false
}

var errChunkFormat = errors.New("malformed aws-chunked body")

// Bounds of an aws-chunked body's framing: a chunk header ("hex-size;chunk-signature=<64 hex>")
// or trailer line is far shorter than maxChunkLine, and S3 sends one or two trailers.
const (
	maxChunkLine = 4 << 10
	maxTrailers  = 32
)

// readAWSChunked decodes an aws-chunked body into u:
//
//	hex-size[;chunk-signature=…]\r\n data \r\n … 0[;chunk-signature=…]\r\n [trailer: value\r\n]… \r\n
//
// Trailers (x-amz-checksum-*) are added to trailer. Chunk signatures are not verified. Memory
// follows the data that arrives, never a chunk's declared size: u grows as bytes are read,
// each growth reserved in the store first, and a chunk that would take u past its limit is
// refused (errEntityTooLarge) before any of it is read. Lines are bounded (maxChunkLine), as
// are trailers (maxTrailers).
func readAWSChunked(body io.Reader, u *upload, trailer http.Header) error {
	br := bufio.NewReaderSize(body, 16<<10)
	for {
		line, err := readChunkLine(br)
		if err != nil {
			return err
		}
		sizeText, _, _ := strings.Cut(line, ";")
		sizeText = strings.TrimSpace(sizeText)
		if sizeText == "" || len(sizeText) > 16 {
			return errChunkFormat
		}
		size, err := strconv.ParseUint(sizeText, 16, 64)
		if err != nil {
			return errChunkFormat
		}
		if size == 0 {
			break
		}
		if size > uint64(u.limit-int64(len(u.data))) {
			return errEntityTooLarge
		}
		if err := u.readN(br, int64(size)); err != nil {
			return err
		}
		if crlf, err := readChunkLine(br); err != nil || crlf != "" {
			return errChunkFormat
		}
	}
	// Trailers end at an empty line (or at the end of the body).
	for n := 0; ; n++ {
		line, err := readChunkLine(br)
		if err == io.EOF || err == nil && line == "" {
			return nil
		}
		if err != nil {
			return err
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || n >= maxTrailers {
			return errChunkFormat
		}
		trailer.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
}

// readChunkLine reads a line ending in "\n" (an optional "\r" before it is removed) of at most
// maxChunkLine bytes. io.EOF means the body ended before any byte of the line; a line cut short
// or too long is errChunkFormat; a read error (a timeout) is returned as is.
func readChunkLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > maxChunkLine+2 {
			return "", errChunkFormat
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return string(line), nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) == 0:
			return "", io.EOF
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return "", errChunkFormat
		default:
			return "", err
		}
	}
}

var (
	errEntityTooLarge = errors.New("entity too large")
	// errStoreFull reports an upload that does not fit in Options.MaxStoreSize.
	errStoreFull = errors.New("store full")
)

// upload is the data of a PutObject being read. Its capacity is reserved in the store's space
// as it grows (held), so that every byte an upload holds is accounted for before it is
// allocated; put hands the reservation to the stored object, and release gives it back if
// the upload fails.
type upload struct {
	data  []byte
	space *budget
	held  int64 // capacity reserved
	limit int64 // the most bytes it may hold
	known int64 // the declared length, -1 if unknown: capacity grows to it exactly
}

func newUpload(space *budget, limit, known int64) *upload {
	return &upload{space: space, limit: limit, known: known}
}

// grow makes room for n more bytes, doubling the capacity from 4 KiB (to the declared length
// exactly when it is known), each growth reserved in the store first.
func (u *upload) grow(n int64) error {
	need := int64(len(u.data)) + n
	if need > u.limit {
		return errEntityTooLarge
	}
	if need <= int64(cap(u.data)) {
		return nil
	}
	c := max(2*int64(cap(u.data)), need, 4<<10)
	if u.known >= need {
		c = min(c, u.known)
	}
	c = min(c, u.limit)
	if !u.space.reserve(c - u.held) {
		return errStoreFull
	}
	u.held = c
	data := make([]byte, len(u.data), c)
	copy(data, u.data)
	u.data = data
	return nil
}

// readN appends exactly n bytes from r, growing as they arrive.
func (u *upload) readN(r io.Reader, n int64) error {
	for n > 0 {
		if len(u.data) == cap(u.data) {
			if err := u.grow(1); err != nil {
				return err
			}
		}
		start := len(u.data)
		step := min(n, int64(cap(u.data)-start))
		got, err := io.ReadFull(r, u.data[start:start+int(step)])
		u.data = u.data[:start+got]
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return errChunkFormat
			}
			return err
		}
		n -= step
	}
	return nil
}

// readAll appends everything r holds, growing as it arrives.
func (u *upload) readAll(r io.Reader) error {
	for {
		if len(u.data) == cap(u.data) {
			if int64(len(u.data)) == u.limit {
				// Full: one more byte means too large.
				var one [1]byte
				n, err := r.Read(one[:])
				switch {
				case n > 0:
					return errEntityTooLarge
				case err == io.EOF:
					return nil
				case err != nil:
					return err
				}
				continue
			}
			if err := u.grow(1); err != nil {
				return err
			}
		}
		start := len(u.data)
		n, err := r.Read(u.data[start:cap(u.data)])
		u.data = u.data[:start+n]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// release gives back the upload's reservation (after a failure).
func (u *upload) release() {
	u.space.release(u.held)
	u.held, u.data = 0, nil
}
