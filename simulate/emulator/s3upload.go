package emulator

import (
	"errors"
	"net/http"
	"strconv"
)

// readUpload reads a PutObject body — plain, or aws-chunked (SigV4 streaming, trailing
// checksums) — into an upload reserved in the store, answering as S3 does what it refuses:
//
//   - a declared size (Content-Length, or x-amz-decoded-content-length for aws-chunked) above
//     MaxObjectSize: 400 EntityTooLarge, before any of the body is read; a body that turns out
//     larger: the same, as soon as it passes the limit;
//   - a body the store has no room for (MaxStoreSize): 507 InsufficientCapacity, the code S3
//     on Outposts and FSx access points answer when their storage is full
//     (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
//   - a client that stops sending (BodyIdleTimeout, ReadTimeout): 400 RequestTimeout;
//   - a body shorter than declared or badly framed: 400 IncompleteBody.
//
// The upload holds only the bytes that arrived (its capacity grows as they do), never a size
// a client merely declared. Trailers of an aws-chunked body are added to trailer.
func (e *Emulator) readUpload(x *exchange, trailer http.Header) (*upload, *apiError) {
	r := x.r
	if b, ok := r.Body.(*body); ok {
		b.counted = false // the store counts these bytes
	}
	chunked := isAWSChunked(r)
	known := r.ContentLength
	if chunked {
		known = -1
		if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, s3Error(http.StatusBadRequest, "InvalidArgument", "x-amz-decoded-content-length must be a whole number of bytes",
					field("ArgumentName", "x-amz-decoded-content-length"))
			}
			known = n
		}
	}
	limit := e.limits.maxObject
	if known > limit {
		return nil, entityTooLarge(known, limit)
	}
	u := newUpload(&e.s3.space, limit, known)
	var err error
	if chunked {
		err = readAWSChunked(r.Body, u, trailer)
	} else {
		err = u.readAll(r.Body)
	}
	if err == nil && known >= 0 && int64(len(u.data)) != known {
		err = errIncomplete
	}
	if err == nil {
		return u, nil
	}
	u.release()
	switch {
	case errors.Is(err, errEntityTooLarge):
		return nil, entityTooLarge(known, limit)
	case errors.Is(err, errStoreFull):
		return nil, s3Error(http.StatusInsufficientStorage, "InsufficientCapacity",
			"The tollgate emulator's object store is full (Options.MaxStoreSize); delete objects or raise the limit.",
			field("MaxStoreSize", strconv.FormatInt(e.limits.maxStore, 10)))
	case isTimeout(err):
		return nil, s3Error(http.StatusBadRequest, "RequestTimeout",
			"Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.")
	case errors.Is(err, errChunkFormat):
		return nil, s3Error(http.StatusBadRequest, "IncompleteBody", "The request body terminated unexpectedly or is not valid aws-chunked encoding")
	}
	return nil, s3Error(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
}

var errIncomplete = errors.New("body shorter or longer than declared")

// entityTooLarge is S3's answer to an object over the size limit: 400 EntityTooLarge with the
// proposed size (when declared) and the maximum allowed.
func entityTooLarge(proposed, limit int64) *apiError {
	extra := []s3ErrorField{}
	if proposed >= 0 {
		extra = append(extra, field("ProposedSize", strconv.FormatInt(proposed, 10)))
	}
	extra = append(extra, field("MaxSizeAllowed", strconv.FormatInt(limit, 10)))
	return s3Error(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", extra...)
}
