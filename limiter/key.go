package limiter

import (
	"math/bits"
	"unsafe"
)

// Key names one call for the limiter: where it goes (Region), what it calls (Service and
// Operation) and, for partitioned rules, which resource it touches.
//
// Service is the AWS SDK ServiceID ("EC2", "S3", "KMS", "Lambda", "DynamoDB", "STS", ...);
// services, operations and regions are matched case-insensitively. Operation is the API name
// ("DescribeInstances"), optionally with a variant after a colon that selects a different bucket
// for the same API (see [UnfilteredOperation]). Resource is the partitioned resource: the S3
// bucket, DynamoDB table, Lambda function, Kinesis stream or SQS queue URL; Prefix is the
// sub-partition inside it (for S3, the key prefix the caller chose, e.g. the first N characters
// of the object key). Empty Resource and Prefix mean unpartitioned. A rule's partition scheme
// decides which of Resource and Prefix form the bucket's identity; the others are ignored.
//
// Building a Key from existing strings (or substrings) does not allocate, and neither does
// looking one up. The limiter copies Resource and Prefix when it creates a bucket for them, so a
// partition key never pins a caller's larger buffer; Service, Operation and Region are kept as
// first given by its route cache (normally constants; at most 65,536 distinct triples).
type Key struct {
	Region    string
	Service   string
	Operation string
	Resource  string
	Prefix    string
}

// Hash constants (from wyhash).
const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
	hashK2 = 0x8ebc6af09c88c6e3
)

// mix folds two words into one with a 64×64→128 multiply.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashString adds s to the running hash h. It reads s eight bytes at a time; it is
// deterministic (the same input always gives the same hash), which keeps the placement of
// buckets, and so eviction order, reproducible in simulations.
func hashString(h uint64, s string) uint64 {
	h = mix(h^uint64(len(s)), hashK0)
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = mix(h^w, hashK1)
		s = s[8:]
	}
	if len(s) > 0 {
		var w uint64
		for i := 0; i < len(s); i++ {
			w |= uint64(s[i]) << (8 * i)
		}
		h = mix(h^w, hashK2)
	}
	return h
}

// identityHash hashes the addresses and lengths of three strings, not their contents. It indexes
// the route cache, whose hits are then confirmed by comparing the strings, so it is only a fast
// guess: callers that pass the same strings (generated SDK code passes constants) hit at the
// cost of one multiply; equal strings at other addresses take the slower content path.
func identityHash(a, b, c string) uint64 {
	pa := uint64(uintptr(unsafe.Pointer(unsafe.StringData(a))))
	pb := uint64(uintptr(unsafe.Pointer(unsafe.StringData(b))))
	pc := uint64(uintptr(unsafe.Pointer(unsafe.StringData(c))))
	x := pa ^ bits.RotateLeft64(pb, 21) ^ bits.RotateLeft64(pc, 42) ^ uint64(len(a)|len(b)<<8|len(c)<<16)
	return x * hashK0
}

// sameString reports whether a and b are equal, answering from their addresses when they are
// the same string.
func sameString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	return unsafe.StringData(a) == unsafe.StringData(b) || a == b
}
