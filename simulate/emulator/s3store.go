package emulator

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// s3Object is a stored object: its bytes exactly as uploaded and the metadata S3 returns.
type s3Object struct {
	data         []byte
	etag         string // quoted hex MD5
	lastModified time.Time
	header       map[string]string // Content-Type, Cache-Control, …, x-amz-meta-*
	// checksumAlgorithm and checksum are the full-object checksum the client sent and the
	// emulator verified ("CRC32", base64 value); empty if none was sent.
	checksumAlgorithm, checksum string
}

// s3Bucket keeps objects by key plus the keys in order, for listing.
type s3Bucket struct {
	objects map[string]*s3Object
	keys    []string // sorted
}

// objectStore holds every bucket. Buckets exist on first use. Its bytes — the data of the
// objects stored and of the uploads in progress — count against space (Options.MaxStoreSize):
// an upload reserves its buffer's capacity before it reads into it, and put hands the
// reservation to the stored object (releasing the capacity of the object it replaces).
type objectStore struct {
	mu      sync.RWMutex
	buckets map[string]*s3Bucket
	space   budget
}

func newObjectStore(limit int64) *objectStore {
	s := &objectStore{buckets: map[string]*s3Bucket{}}
	s.space.limit = limit
	return s
}

func (s *objectStore) bucket(name string) *s3Bucket {
	b := s.buckets[name]
	if b == nil {
		b = &s3Bucket{objects: map[string]*s3Object{}}
		s.buckets[name] = b
	}
	return b
}

// put stores obj, whose data's bytes the caller has reserved.
func (s *objectStore) put(bucket, key string, obj *s3Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucket(bucket)
	if old, ok := b.objects[key]; ok {
		s.space.release(int64(cap(old.data)))
	} else {
		i := sort.SearchStrings(b.keys, key)
		b.keys = append(b.keys, "")
		copy(b.keys[i+1:], b.keys[i:])
		b.keys[i] = key
	}
	b.objects[key] = obj
}

// get returns the object; stored objects are never modified, so the caller may read it freely.
func (s *objectStore) get(bucket, key string) *s3Object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b := s.buckets[bucket]; b != nil {
		return b.objects[key]
	}
	return nil
}

func (s *objectStore) delete(bucket, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucket]
	if b == nil {
		return
	}
	old, ok := b.objects[key]
	if !ok {
		return
	}
	s.space.release(int64(cap(old.data)))
	delete(b.objects, key)
	i := sort.SearchStrings(b.keys, key)
	b.keys = append(b.keys[:i], b.keys[i+1:]...)
}

// listEntry is one result of a listing: an object (obj set) or a common prefix.
type listEntry struct {
	key string
	obj *s3Object
}

// list returns up to max entries of bucket whose keys start with prefix and sort after marker,
// rolling keys that contain delimiter after the prefix into common prefixes. If marker is a
// common prefix (ends with delimiter), keys under it are skipped. truncated reports whether
// entries remain.
func (s *objectStore) list(bucket, prefix, delimiter, marker string, max int) (entries []listEntry, truncated bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := s.buckets[bucket]
	if b == nil {
		return nil, false
	}
	start := sort.SearchStrings(b.keys, prefix)
	if marker > prefix {
		start = sort.Search(len(b.keys), func(i int) bool { return b.keys[i] > marker })
	}
	lastPrefix := ""
	if delimiter != "" && strings.HasSuffix(marker, delimiter) && strings.HasPrefix(marker, prefix) {
		lastPrefix = marker
	}
	for _, k := range b.keys[start:] {
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if lastPrefix != "" && strings.HasPrefix(k, lastPrefix) {
			continue
		}
		e := listEntry{key: k, obj: b.objects[k]}
		if delimiter != "" {
			if i := strings.Index(k[len(prefix):], delimiter); i >= 0 {
				cp := k[:len(prefix)+i+len(delimiter)]
				e = listEntry{key: cp}
				lastPrefix = cp
			}
		}
		if len(entries) == max {
			return entries, true
		}
		entries = append(entries, e)
	}
	return entries, false
}
