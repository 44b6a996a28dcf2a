package trace

import "unicode/utf8"

// interner returns one shared string for equal byte sequences, so that readers do not allocate
// a new string for every repeated service, operation, bucket or error code. It is a two-way
// set-associative cache: a new string evicts the older of the two in its set, so memory is
// bounded whatever the length of the trace, and a string that recurs often stays.
type interner struct {
	slots  *[internSets][2]string
	recent *recentValues // for fieldDecoder.shared
	fix    []byte
}

// recentValues are recent values of each string field of a record, in slots chosen by
// quickHash: a field's few recurring values (services, operations, clients) stay there, in a
// small table of their own, whatever the other fields (S3 keys) do to the interner's table.
// S3 keys, which have many more values, have a larger table.
type recentValues struct {
	fields [nFields][recentSlots]string
	keys   [recentKeySlots]string
}

const (
	recentSlots    = 64
	recentKeySlots = 4096
)

const (
	internSets   = 1 << 12
	maxInternLen = 256 // longer strings are not kept
)

// bytes returns b as a string, shared with earlier calls for the same bytes when possible.
func (in *interner) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInternLen {
		return string(b)
	}
	in.ensure()
	set := &in.slots[hashBytes(b)&(internSets-1)]
	if set[0] == string(b) {
		return set[0]
	}
	if set[1] == string(b) {
		return set[1]
	}
	set[1], set[0] = set[0], string(b)
	return set[0]
}

// ensure allocates the tables; copies of the interner made afterwards share them.
func (in *interner) ensure() {
	if in.slots == nil {
		in.slots = new([internSets][2]string)
		in.recent = new(recentValues)
	}
}

// text is bytes for input that may not be valid UTF-8: bytes that are not become U+FFFD.
func (in *interner) text(b []byte) string {
	if !utf8.Valid(b) {
		in.fix = appendValidUTF8(in.fix[:0], b)
		b = in.fix
	}
	return in.bytes(b)
}

// string returns the shared copy of s, keeping s if it is new.
func (in *interner) string(s string) string {
	if len(s) == 0 || len(s) > maxInternLen {
		return s
	}
	in.ensure()
	set := &in.slots[hashBytes(s)&(internSets-1)]
	if set[0] == s {
		return set[0]
	}
	if set[1] == s {
		return set[1]
	}
	set[1], set[0] = set[0], s
	return s
}

// hashBytes is a fast, non-cryptographic hash of b (multiply-xor over 8-byte words). The
// interner only needs a good spread, not resistance to chosen input: a collision costs an
// allocation, never a wrong result.
func hashBytes[T string | []byte](b T) uint64 {
	const m = 0x9E3779B97F4A7C15
	h := uint64(len(b)) * m
	for len(b) >= 8 {
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		h = (h ^ w) * m
		h ^= h >> 29
		b = b[8:]
	}
	if len(b) > 0 {
		var w uint64
		for i := 0; i < len(b); i++ {
			w |= uint64(b[i]) << (8 * i)
		}
		h = (h ^ w) * m
		h ^= h >> 29
	}
	return h ^ h>>32
}
