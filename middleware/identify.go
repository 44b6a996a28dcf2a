package middleware

import (
	"net"
	"net/http"
	"strings"
)

// RequestInfo identifies a raw HTTP request to AWS for the limiter and the events: which service
// and operation it calls, in which Region, on which partition.
type RequestInfo struct {
	Service   string // SDK service ID: "S3", "DynamoDB", ...
	Operation string
	Region    string
	Partition Partition
	Units     int
}

// IdentifyRequest works out what a signed AWS request calls, without reading its body:
//   - Region and service from the SigV4 credential scope, in the Authorization header
//     (hand-signed calls) or the X-Amz-Credential query parameter (presigned URLs);
//   - the operation from X-Amz-Target (JSON protocols), the Action query parameter (query
//     protocols), or, for S3, the method, path and query (GET object → GetObject, PUT → PutObject,
//     PUT with x-amz-copy-source → CopyObject, ?uploads → CreateMultipartUpload, ...);
//   - for S3, the bucket (virtual-hosted or path-style) and the key's prefix under scheme.
//
// Fields it cannot tell are left empty; an empty Operation still gets the service's rules.
func IdentifyRequest(req *http.Request, scheme PrefixScheme) RequestInfo {
	var info RequestInfo
	signingName := ""
	if cred := req.URL.Query().Get("X-Amz-Credential"); cred != "" {
		info.Region, signingName = credentialScope(cred)
	} else if auth := req.Header.Get("Authorization"); auth != "" {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			cred := auth[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
			info.Region, signingName = credentialScope(cred)
		}
	}
	info.Service = serviceID(signingName)
	if target := req.Header.Get("X-Amz-Target"); target != "" {
		if i := strings.LastIndexByte(target, '.'); i >= 0 {
			info.Operation = target[i+1:]
		}
		return info
	}
	if action := req.URL.Query().Get("Action"); action != "" {
		info.Operation = action
		return info
	}
	if info.Service == "Lambda" {
		info.Operation, info.Partition.Resource = lambdaOperation(req)
		return info
	}
	if info.Service == "S3" || (signingName == "" && looksLikeS3(req.URL.Host)) {
		info.Service = "S3"
		bucket, key := s3BucketKey(req)
		info.Partition = Partition{Resource: bucket}
		if key != "" {
			info.Partition.Prefix = scheme.Prefix(key)
		}
		info.Operation = s3Operation(req, bucket, key)
	}
	return info
}

// credentialScope splits "AKID/20250314/us-east-1/s3/aws4_request" into region and signing name.
func credentialScope(cred string) (region, signingName string) {
	parts := strings.Split(cred, "/")
	if len(parts) >= 5 {
		return parts[2], parts[3]
	}
	return "", ""
}

var signingNameToServiceID = map[string]string{
	"s3": "S3", "ec2": "EC2", "dynamodb": "DynamoDB", "kms": "KMS", "lambda": "Lambda",
	"sts": "STS", "sqs": "SQS", "kinesis": "Kinesis", "iam": "IAM", "sns": "SNS",
	"monitoring": "CloudWatch", "logs": "CloudWatch Logs", "states": "SFN",
}

func serviceID(signingName string) string {
	if id, ok := signingNameToServiceID[signingName]; ok {
		return id
	}
	return signingName
}

func looksLikeS3(host string) bool {
	h := hostOnly(host)
	return strings.HasPrefix(h, "s3.") || strings.Contains(h, ".s3.") || strings.Contains(h, ".s3-")
}

func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// s3BucketKey reads the bucket and key of an S3 request, virtual-hosted
// (bucket.s3.region.amazonaws.com/key) or path-style (host/bucket/key, as with the emulator).
func s3BucketKey(req *http.Request) (bucket, key string) {
	host := hostOnly(req.URL.Host)
	if host == "" {
		host = hostOnly(req.Host)
	}
	path := strings.TrimPrefix(req.URL.Path, "/")
	if i := strings.Index(host, ".s3."); i > 0 && net.ParseIP(host) == nil {
		return host[:i], path
	}
	if i := strings.Index(host, ".s3-"); i > 0 && net.ParseIP(host) == nil {
		return host[:i], path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

func s3Operation(req *http.Request, bucket, key string) string {
	q := req.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch req.Method {
	case http.MethodGet:
		switch {
		case bucket == "":
			return "ListBuckets"
		case key == "" && q.Get("list-type") == "2":
			return "ListObjectsV2"
		case key == "":
			return "ListObjects"
		case has("uploadId"):
			return "ListParts"
		}
		return "GetObject"
	case http.MethodHead:
		if key == "" {
			return "HeadBucket"
		}
		return "HeadObject"
	case http.MethodPut:
		switch {
		case key == "":
			return "CreateBucket"
		case has("partNumber") && req.Header.Get("X-Amz-Copy-Source") != "":
			return "UploadPartCopy"
		case has("partNumber"):
			return "UploadPart"
		case req.Header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodDelete:
		switch {
		case key == "":
			return "DeleteBucket"
		case has("uploadId"):
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	case http.MethodPost:
		switch {
		case has("uploads"):
			return "CreateMultipartUpload"
		case has("uploadId"):
			return "CompleteMultipartUpload"
		case has("delete"):
			return "DeleteObjects"
		}
		return "PostObject"
	}
	return ""
}

// lambdaOperation reads the operation and function name of a Lambda REST request
// (/2015-03-31/functions/{name}[/invocations|/policy|/configuration]).
func lambdaOperation(req *http.Request) (operation, function string) {
	rest, ok := strings.CutPrefix(req.URL.Path, "/2015-03-31/functions/")
	if !ok {
		return "", ""
	}
	function, sub, _ := strings.Cut(rest, "/")
	switch {
	case sub == "invocations" && req.Method == http.MethodPost:
		return "Invoke", function
	case sub == "" && req.Method == http.MethodGet:
		return "GetFunction", function
	case sub == "" && req.Method == http.MethodDelete:
		return "DeleteFunction", function
	case sub == "policy" && req.Method == http.MethodGet:
		return "GetPolicy", function
	case sub == "configuration" && req.Method == http.MethodGet:
		return "GetFunctionConfiguration", function
	case sub == "configuration" && req.Method == http.MethodPut:
		return "UpdateFunctionConfiguration", function
	}
	return "", function
}
