package server

import (
	"strings"
	"testing"
)

// isS3 is strings.EqualFold(s, "S3").
func TestIsS3(t *testing.T) {
	for _, s := range []string{"S3", "s3", "ſ3", "S", "S33", "EC2", "", "3S", "sS", "s3\u0301", "\u017f3", "KMS", "SQS", "ſ", "s4", "S\x00"} {
		if got, want := isS3(s), strings.EqualFold(s, "S3"); got != want {
			t.Errorf("isS3(%q) = %v, strings.EqualFold says %v", s, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		for _, s := range []string{string([]byte{byte(c), '3'}), string([]byte{byte(c), 0xBF, '3'}), string([]byte{'S', byte(c)})} {
			if got, want := isS3(s), strings.EqualFold(s, "S3"); got != want {
				t.Errorf("isS3(%q) = %v, strings.EqualFold says %v", s, got, want)
			}
		}
	}
}
