package limiter

import (
	"strings"
	"testing"
	"unsafe"
)

// A bucket's key is its own copy of resource and prefix: kept inside the bucket when short
// enough, in memory of its own otherwise, never the caller's strings.
func TestBucketKeyIsACopy(t *testing.T) {
	long := strings.Repeat("r", inlineKey)
	for _, c := range []struct{ resource, prefix string }{
		{"data", "p123/"}, {"", "p/"}, {"bucket", ""}, {long[:inlineKey-1], "p"}, {long, "p/"}, {long, ""},
	} {
		var b pbucket
		b.setKey(c.resource, c.prefix)
		if b.key != c.resource+c.prefix || int(b.resLen) != len(c.resource) {
			t.Errorf("%q+%q: key %q, resource length %d", c.resource, c.prefix, b.key, b.resLen)
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(b.key)))
		in := p >= uintptr(unsafe.Pointer(&b.inline[0])) && p < uintptr(unsafe.Pointer(&b.inline[0]))+inlineKey
		if want := len(b.key) <= inlineKey; in != want {
			t.Errorf("%q+%q: key inside the bucket %v, want %v", c.resource, c.prefix, in, want)
		}
		for _, s := range []string{c.resource, c.prefix} {
			if len(s) > 0 && unsafe.StringData(s) == unsafe.StringData(b.key) {
				t.Errorf("%q+%q: the key shares the caller's memory", c.resource, c.prefix)
			}
		}
	}
}
