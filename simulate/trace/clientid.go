package trace

import (
	"crypto/sha256"
	"encoding/hex"
)

// ClientID returns the opaque client identifier importers store for a principal (an IAM ARN,
// a canonical user id, an access key): "p-" and the first 12 hex digits of its SHA-256. The
// same principal always gets the same id, so traces from different sources agree, but the
// trace does not carry account numbers or user names. It returns "" for "".
func ClientID(principal string) string {
	if principal == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(principal))
	return "p-" + hex.EncodeToString(sum[:6])
}

// clientIDs memoises ClientID for the few principals a log usually holds; it is bounded.
type clientIDs struct {
	m map[string]string
}

func (c *clientIDs) get(principal []byte) string {
	if len(principal) == 0 {
		return ""
	}
	if id, ok := c.m[string(principal)]; ok {
		return id
	}
	if c.m == nil || len(c.m) >= 4096 {
		c.m = make(map[string]string)
	}
	p := string(principal)
	id := ClientID(p)
	c.m[p] = id
	return id
}
