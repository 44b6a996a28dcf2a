package emulator

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The API versions that tell the two form-encoded query protocols apart.
const (
	ec2APIVersion = "2016-11-15"
	stsAPIVersion = "2011-06-15"
)

// maxFormBytes bounds the body of form-encoded (EC2, STS) requests.
const maxFormBytes = 1 << 20

// ServeHTTP routes one request to the emulated service it is addressed to:
//
//   - GET /metrics without an Authorization header: the emulator's Prometheus metrics;
//   - X-Amz-Target "DynamoDB_20120810.<Op>": DynamoDB (awsJson1.0);
//   - X-Amz-Target "TrentService.<Op>": KMS (awsJson1.1);
//   - a form-encoded POST with Version=2016-11-15: EC2 (ec2query); Version=2011-06-15: STS
//     (awsQuery); without a known Version the SigV4 credential scope's service decides;
//   - paths under /2015-03-31/functions, or a credential scope for "lambda": Lambda (restJson1);
//   - everything else: S3 (restXml, path-style: /bucket/key), including a bucket named
//     "2015-03-31" when the credential scope says "s3".
//
// The Region is the one in the SigV4 credential scope (Authorization header or X-Amz-Credential
// query parameter), DefaultRegion without one. Signatures are not verified.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.startClock()
	if r.Method == http.MethodGet && r.URL.Path == "/metrics" && r.Header.Get("Authorization") == "" {
		e.metrics.handler.ServeHTTP(w, r)
		return
	}
	b := &body{rc: r.Body, ctl: http.NewResponseController(w), idle: e.limits.bodyIdle, mem: &e.reqMemory, counted: true}
	if e.limits.read > 0 {
		b.deadline = time.Now().Add(e.limits.read)
	}
	r.Body = b
	defer b.release()
	scope := parseCredentialScope(r)
	x := &exchange{e: e, w: w, r: r, region: scope.region}
	if x.region == "" {
		x.region = DefaultRegion
	}
	defer x.finish()

	if target := r.Header.Get("X-Amz-Target"); target != "" {
		switch {
		case strings.HasPrefix(target, dynamoDBTargetPrefix):
			x.svc = &dynamoDBService
			e.serveDynamoDB(x, strings.TrimPrefix(target, dynamoDBTargetPrefix))
		case strings.HasPrefix(target, kmsTargetPrefix):
			x.svc = &kmsService
			e.serveKMS(x, strings.TrimPrefix(target, kmsTargetPrefix))
		default:
			x.svc = &unknownJSONService
			x.fail(errUnknownJSONOperation(target))
		}
		return
	}
	if isFormPost(r) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			x.svc = serviceForScope(scope.service, &ec2Service)
			if errors.Is(err, errRequestMemory) {
				x.fail(x.svc.internal(x))
				return
			}
			x.fail(errMalformedQuery(err))
			return
		}
		version := r.PostForm.Get("Version")
		if version == stsAPIVersion || version != ec2APIVersion && scope.service == "sts" {
			x.svc = &stsService
			e.serveSTS(x, r.PostForm)
		} else {
			x.svc = &ec2Service
			e.serveEC2(x, r.PostForm)
		}
		return
	}
	if scope.service == "lambda" || scope.service != "s3" && strings.HasPrefix(r.URL.Path, lambdaPathPrefix) {
		x.svc = &lambdaService
		e.serveLambda(x)
		return
	}
	x.svc = &s3Service
	e.serveS3(x)
}

// serviceForScope picks the query-protocol service named by the credential scope, or def.
func serviceForScope(scopeService string, def *service) *service {
	if scopeService == "sts" {
		return &stsService
	}
	return def
}

func isFormPost(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && ct == "application/x-www-form-urlencoded"
}

// credentialScope is the part of a SigV4 credential that says where a request is going:
// AKID/20250314/us-east-1/ec2/aws4_request.
type credentialScope struct {
	accessKey, region, service string
}

// parseCredentialScope reads the scope from the Authorization header or, for presigned URLs,
// the X-Amz-Credential query parameter. Missing or malformed scopes give zero fields.
func parseCredentialScope(r *http.Request) credentialScope {
	cred := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			cred = auth[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	} else if q, err := url.ParseQuery(r.URL.RawQuery); err == nil {
		cred = q.Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return credentialScope{}
	}
	s := credentialScope{accessKey: parts[0], region: parts[2], service: parts[3]}
	if !isRegionName(s.region) {
		s.region = ""
	}
	return s
}

// isRegionName accepts names shaped like AWS Regions ("us-east-1", "eu-central-2", "us-gov-west-1").
func isRegionName(s string) bool {
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
