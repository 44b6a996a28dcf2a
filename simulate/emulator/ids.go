package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// uuid returns a random (version 4 shaped) UUID from the seeded source, the request-ID format of
// EC2, STS, DynamoDB, KMS and Lambda.
func (e *Emulator) uuid() string {
	var b [16]byte
	e.randomBytes(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// s3RequestID returns 16 upper-case hex digits, the format of S3's x-amz-request-id.
func (e *Emulator) s3RequestID() string {
	var b [8]byte
	e.randomBytes(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// s3HostID derives the x-amz-id-2 value from the request ID (S3 sends an opaque base64 token).
func (e *Emulator) s3HostID(requestID string) string {
	sum := sha256.Sum256([]byte("tollgate-emulator/" + requestID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func itoa(n int) string { return strconv.Itoa(n) }
