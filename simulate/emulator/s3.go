package emulator

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/simulate/server"
)

const (
	s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
	// maxKeyBytes is S3's object key length limit.
	maxKeyBytes = 1024
	// s3TimeFormat is the ISO 8601 form S3 uses in XML bodies.
	s3TimeFormat = "2006-01-02T15:04:05.000Z"
)

var s3Service = service{
	id: "S3",
	operations: map[string]bool{
		"PutObject": true, "GetObject": true, "HeadObject": true, "DeleteObject": true,
		"ListObjectsV2": true, "CreateBucket": true, "HeadBucket": true,
	},
	writeError: writeS3Error,
	s3IDs:      true,
	throttle: func(*exchange) *apiError {
		return &apiError{status: http.StatusServiceUnavailable, code: "SlowDown",
			message: "Please reduce your request rate.", throttled: true}
	},
	internal: func(*exchange) *apiError {
		return &apiError{status: http.StatusInternalServerError, code: "InternalError",
			message: "We encountered an internal error. Please try again."}
	},
}

// s3ErrorField is an extra element of an S3 error body, such as <Key> or <BucketName>.
type s3ErrorField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

type s3ErrorXML struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []s3ErrorField
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

// writeS3Error writes a restXml error: <Error><Code>…</Code>…<RequestId>…<HostId>, with the IDs
// also in x-amz-request-id and x-amz-id-2. HEAD responses carry no body, so the SDK derives the
// code from the status (503 → "ServiceUnavailable"), as it does against AWS.
func writeS3Error(x *exchange, err *apiError) {
	x.setRequestIDHeaders()
	x.w.Header().Set("Content-Type", "application/xml")
	body := xmlDocument(s3ErrorXML{
		Code: err.code, Message: err.message, Extra: err.s3Extra,
		RequestID: x.requestID(), HostID: x.e.s3HostID(x.requestID()),
	})
	write(x.w, x.r, err.status, body)
}

func s3Error(status int, code, msg string, extra ...s3ErrorField) *apiError {
	return &apiError{status: status, code: code, message: msg, s3Extra: extra}
}

func field(name, value string) s3ErrorField {
	return s3ErrorField{XMLName: xml.Name{Local: name}, Value: value}
}

func s3NotImplemented(what string) *apiError {
	return s3Error(http.StatusNotImplemented, "NotImplemented",
		"A header or query you provided implies functionality the tollgate emulator does not provide (it implements "+
			"PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2, CreateBucket and HeadBucket; got "+truncate(what, 128)+")")
}

// s3Subresources are query parameters that select operations the emulator does not implement.
var s3Subresources = []string{
	"acl", "tagging", "uploads", "uploadId", "partNumber", "versioning", "versions", "location", "policy",
	"cors", "lifecycle", "website", "logging", "notification", "replication", "encryption", "object-lock",
	"retention", "legal-hold", "attributes", "torrent", "restore", "select", "delete", "accelerate",
	"analytics", "inventory", "metrics", "intelligent-tiering", "ownershipControls", "publicAccessBlock",
	"requestPayment", "policyStatus", "renameObject", "session",
}

// serveS3 answers a path-style restXml request: /bucket and /bucket/key.
func (e *Emulator) serveS3(x *exchange) {
	r := x.r
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		x.fail(s3Error(http.StatusBadRequest, "InvalidArgument", "The query string could not be parsed"))
		return
	}
	x.op = s3OperationName(r.Method, bucket, key, query, r.Header)
	for _, sub := range s3Subresources {
		if query.Has(sub) {
			x.fail(s3NotImplemented(r.Method + " ?" + sub))
			return
		}
	}
	if bucket == "" {
		x.fail(s3NotImplemented(r.Method + " / (ListBuckets; requests are path-style: set UsePathStyle)"))
		return
	}
	if !isBucketName(bucket) {
		x.fail(s3Error(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", field("BucketName", truncate(bucket, 255))))
		return
	}
	if len(key) > maxKeyBytes {
		x.fail(s3Error(http.StatusBadRequest, "KeyTooLongError", "Your key is too long"))
		return
	}
	x.resource = bucket
	switch x.op {
	case "PutObject":
		e.s3PutObject(x, bucket, key)
	case "GetObject", "HeadObject":
		e.s3GetObject(x, bucket, key)
	case "DeleteObject":
		e.s3DeleteObject(x, bucket, key)
	case "ListObjectsV2":
		e.s3ListObjectsV2(x, bucket, query)
	case "CreateBucket", "HeadBucket":
		if !x.admit(server.Request{Resource: bucket}) {
			return
		}
		if x.op == "CreateBucket" {
			io.Copy(io.Discard, io.LimitReader(r.Body, maxFormBytes)) // CreateBucketConfiguration
			x.w.Header().Set("Location", "/"+bucket)
		} else {
			x.w.Header().Set("x-amz-bucket-region", x.region)
		}
		x.reply(http.StatusOK, "", nil)
	case "":
		x.fail(s3Error(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.",
			field("Method", truncate(r.Method, 16)), field("ResourceType", "OBJECT")))
	default:
		x.fail(s3NotImplemented(x.op))
	}
}

// s3OperationName names the S3 operation a request calls ("" if the method makes no sense).
func s3OperationName(method, bucket, key string, query url.Values, h http.Header) string {
	if bucket == "" {
		return "ListBuckets"
	}
	if key == "" {
		switch method {
		case http.MethodGet:
			if query.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			return "ListObjects"
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		}
		return ""
	}
	switch method {
	case http.MethodPut:
		if h.Get("X-Amz-Copy-Source") != "" {
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodGet:
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		return "DeleteObject"
	case http.MethodPost:
		return "PostObject"
	}
	return ""
}

// isBucketName checks S3's general-purpose bucket naming rules.
func isBucketName(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	first, last := s[0], s[len(s)-1]
	return first != '.' && first != '-' && last != '.' && last != '-' && !strings.Contains(s, "..")
}

// storedHeaders are the request headers PutObject keeps and GetObject/HeadObject return.
var storedHeaders = []string{"Content-Type", "Cache-Control", "Content-Disposition", "Content-Language", "Expires"}

func (e *Emulator) s3PutObject(x *exchange, bucket, key string) {
	r := x.r
	trailer := http.Header{}
	u, aerr := e.readUpload(x, trailer)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	stored := false
	defer func() {
		if !stored {
			u.release()
		}
	}()
	data := u.data
	if !x.admit(server.Request{Resource: bucket, Prefix: server.PrefixOf(key)}) {
		return
	}
	checks := r.Header.Clone()
	for k, v := range trailer {
		checks[k] = v
	}
	alg, sum, aerr := verifyChecksums(checks, data)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	md := md5.Sum(data)
	obj := &s3Object{
		data: data, etag: `"` + hex.EncodeToString(md[:]) + `"`,
		lastModified:      e.now().UTC().Truncate(time.Second),
		header:            map[string]string{},
		checksumAlgorithm: alg, checksum: sum,
	}
	for _, h := range storedHeaders {
		if v := r.Header.Get(h); v != "" {
			obj.header[h] = v
		}
	}
	if enc := contentEncodingWithoutAWSChunked(r.Header.Get("Content-Encoding")); enc != "" {
		obj.header["Content-Encoding"] = enc
	}
	for k, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") && len(v) > 0 {
			obj.header[k] = v[0]
		}
	}
	e.s3.put(bucket, key, obj)
	stored = true
	h := x.w.Header()
	h.Set("ETag", obj.etag)
	if alg != "" {
		h.Set(checksumHeader(alg), sum)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	x.reply(http.StatusOK, "", nil)
}

func contentEncodingWithoutAWSChunked(v string) string {
	var keep []string
	for _, enc := range strings.Split(v, ",") {
		if enc = strings.TrimSpace(enc); enc != "" && enc != "aws-chunked" {
			keep = append(keep, enc)
		}
	}
	return strings.Join(keep, ",")
}

func (e *Emulator) s3GetObject(x *exchange, bucket, key string) {
	r := x.r
	if !x.admit(server.Request{Resource: bucket, Prefix: server.PrefixOf(key)}) {
		return
	}
	obj := e.s3.get(bucket, key)
	if obj == nil {
		x.fail(s3Error(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", field("Key", key)))
		return
	}
	h := x.w.Header()
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", obj.lastModified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "binary/octet-stream")
	for k, v := range obj.header {
		h.Set(k, v)
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != obj.etag {
		h.Del("Content-Type")
		x.fail(s3Error(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
			field("Condition", "If-Match")))
		return
	}
	if m := r.Header.Get("If-None-Match"); m != "" && (m == "*" || m == obj.etag) {
		x.reply(http.StatusNotModified, "", nil)
		return
	}
	body, status := obj.data, http.StatusOK
	if rng := r.Header.Get("Range"); rng != "" {
		start, end, ok, satisfiable := parseByteRange(rng, int64(len(obj.data)))
		if ok && !satisfiable {
			h.Del("Content-Type")
			x.fail(s3Error(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable",
				field("RangeRequested", truncate(rng, 64)), field("ActualObjectSize", strconv.Itoa(len(obj.data)))))
			return
		}
		if ok {
			body, status = obj.data[start:end+1], http.StatusPartialContent
			h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.Itoa(len(obj.data)))
		}
	}
	if status == http.StatusOK && obj.checksumAlgorithm != "" && strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		h.Set(checksumHeader(obj.checksumAlgorithm), obj.checksum)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.reply(status, "", body)
}

// parseByteRange parses a single "bytes=first-last", "bytes=first-" or "bytes=-suffix" range
// for an object of size bytes. ok is false for headers S3 ignores (other units, multiple
// ranges, syntax errors); satisfiable is false when the range starts past the end.
func parseByteRange(h string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		return max(0, size-n), size - 1, true, true
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, false, false
	}
	e := size - 1
	if last != "" {
		if e, err = strconv.ParseInt(last, 10, 64); err != nil || e < s {
			return 0, 0, false, false
		}
		e = min(e, size-1)
	}
	if s >= size {
		return 0, 0, true, false
	}
	return s, e, true, true
}

func (e *Emulator) s3DeleteObject(x *exchange, bucket, key string) {
	if !x.admit(server.Request{Resource: bucket, Prefix: server.PrefixOf(key)}) {
		return
	}
	e.s3.delete(bucket, key)
	x.reply(http.StatusNoContent, "", nil)
}

type s3ListBucketResult struct {
	XMLName               xml.Name         `xml:"ListBucketResult"`
	XMLNS                 string           `xml:"xmlns,attr"`
	Name                  string           `xml:"Name"`
	Prefix                string           `xml:"Prefix"`
	Delimiter             string           `xml:"Delimiter,omitempty"`
	MaxKeys               int              `xml:"MaxKeys"`
	EncodingType          string           `xml:"EncodingType,omitempty"`
	KeyCount              int              `xml:"KeyCount"`
	IsTruncated           bool             `xml:"IsTruncated"`
	ContinuationToken     string           `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string           `xml:"NextContinuationToken,omitempty"`
	StartAfter            string           `xml:"StartAfter,omitempty"`
	Contents              []s3ContentXML   `xml:"Contents"`
	CommonPrefixes        []s3CommonPrefix `xml:"CommonPrefixes"`
}

type s3ContentXML struct {
	Key               string      `xml:"Key"`
	LastModified      string      `xml:"LastModified"`
	ETag              string      `xml:"ETag"`
	ChecksumAlgorithm string      `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string      `xml:"ChecksumType,omitempty"`
	Size              int         `xml:"Size"`
	Owner             *s3OwnerXML `xml:"Owner"`
	StorageClass      string      `xml:"StorageClass"`
}

type s3OwnerXML struct {
	ID string `xml:"ID"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

func (e *Emulator) s3ListObjectsV2(x *exchange, bucket string, q url.Values) {
	maxKeys := 1000
	if s := q.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			x.fail(s3Error(http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range",
				field("ArgumentName", "max-keys"), field("ArgumentValue", truncate(s, 32))))
			return
		}
		maxKeys = min(n, 1000)
	}
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		x.fail(s3Error(http.StatusBadRequest, "InvalidArgument", "Invalid Encoding Method specified in Request",
			field("ArgumentName", "encoding-type"), field("ArgumentValue", truncate(enc, 32))))
		return
	}
	prefix, delimiter, token, startAfter := q.Get("prefix"), q.Get("delimiter"), q.Get("continuation-token"), q.Get("start-after")
	marker := startAfter
	if token != "" {
		m, ok := decodeListToken(token)
		if !ok {
			x.fail(s3Error(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect",
				field("ArgumentName", "continuation-token")))
			return
		}
		marker = m
	}
	if !x.admit(server.Request{Resource: bucket, Prefix: server.PrefixOf(prefix)}) {
		return
	}
	entries, truncated := e.s3.list(bucket, prefix, delimiter, marker, maxKeys)
	if maxKeys == 0 {
		truncated = false
	}
	encode := func(s string) string {
		if enc == "url" {
			return url.QueryEscape(s)
		}
		return s
	}
	res := s3ListBucketResult{
		XMLNS: s3XMLNS, Name: bucket, Prefix: encode(prefix), Delimiter: encode(delimiter), MaxKeys: maxKeys,
		EncodingType: enc, KeyCount: len(entries), IsTruncated: truncated, ContinuationToken: token,
		StartAfter: encode(startAfter),
	}
	if truncated {
		res.NextContinuationToken = encodeListToken(entries[len(entries)-1].key)
	}
	fetchOwner := q.Get("fetch-owner") == "true"
	for _, en := range entries {
		if en.obj == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, s3CommonPrefix{Prefix: encode(en.key)})
			continue
		}
		c := s3ContentXML{
			Key: encode(en.key), LastModified: en.obj.lastModified.Format(s3TimeFormat), ETag: en.obj.etag,
			Size: len(en.obj.data), StorageClass: "STANDARD",
		}
		if en.obj.checksumAlgorithm != "" {
			c.ChecksumAlgorithm, c.ChecksumType = en.obj.checksumAlgorithm, "FULL_OBJECT"
		}
		if fetchOwner {
			c.Owner = &s3OwnerXML{ID: e.canonicalUserID()}
		}
		res.Contents = append(res.Contents, c)
	}
	x.reply(http.StatusOK, "application/xml", xmlDocument(res))
}

func encodeListToken(marker string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("tollgate:" + marker))
}

func decodeListToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), "tollgate:")
}

// canonicalUserID is the account's S3 canonical user ID (64 hex digits, derived from the account).
func (e *Emulator) canonicalUserID() string {
	sum := md5.Sum([]byte("tollgate-emulator/" + e.account))
	return hex.EncodeToString(sum[:]) + hex.EncodeToString(sum[:])
}
