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
	"net/textproto"
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

// readAWSChunked decodes an aws-chunked body of at most limit decoded bytes:
//
//	hex-size[;chunk-signature=…]\r\n data \r\n … 0[;chunk-signature=…]\r\n [trailer: value\r\n]… \r\n
//
// Trailers (x-amz-checksum-*) are added to trailer. Chunk signatures are not verified.
func readAWSChunked(body io.Reader, limit int64, trailer http.Header) ([]byte, error) {
	br := bufio.NewReader(body)
	tp := textproto.NewReader(br)
	var out []byte
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return nil, errChunkFormat
		}
		sizeText, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil || size < 0 {
			return nil, errChunkFormat
		}
		if size == 0 {
			break
		}
		if int64(len(out))+size > limit {
			return nil, errEntityTooLarge
		}
		start := len(out)
		out = append(out, make([]byte, size)...)
		if _, err := io.ReadFull(br, out[start:]); err != nil {
			return nil, errChunkFormat
		}
		if crlf, err := tp.ReadLine(); err != nil || crlf != "" {
			return nil, errChunkFormat
		}
	}
	// Trailers end at an empty line (or at the end of the body).
	for {
		line, err := tp.ReadLine()
		if err == io.EOF || err == nil && line == "" {
			return out, nil
		}
		if err != nil {
			return nil, errChunkFormat
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, errChunkFormat
		}
		trailer.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
}

var errEntityTooLarge = errors.New("entity too large")
