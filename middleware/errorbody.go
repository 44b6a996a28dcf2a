package middleware

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxErrorBody bounds how much of an error response the RoundTripper reads to find its code.
const maxErrorBody = 64 << 10

// responseErrorCode finds the AWS error code of a non-2xx response, the way the SDK's protocol
// deserializers do: the X-Amzn-ErrorType header first (JSON protocols), then the body — an XML
// <Code> (S3's <Error>, EC2's <Response><Errors><Error>, awsQuery's <ErrorResponse><Error>) or a
// JSON "__type"/"code" — sanitised (text before ':' kept, text after '#' kept). It reads at most
// maxErrorBody bytes and puts them back in front of the rest of the body, so the caller can still
// read the whole response.
func responseErrorCode(resp *http.Response) string {
	if t := resp.Header.Get("X-Amzn-ErrorType"); t != "" {
		return sanitizeCode(t)
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		return ""
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return ""
	}
	trimmed := bytes.TrimSpace(head)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '<':
		if i := bytes.Index(trimmed, []byte("<Code>")); i >= 0 {
			rest := trimmed[i+len("<Code>"):]
			if j := bytes.Index(rest, []byte("</Code>")); j >= 0 {
				return sanitizeCode(string(bytes.TrimSpace(rest[:j])))
			}
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var body struct {
			Type string `json:"__type"`
			Code string `json:"code"`
		}
		if json.Unmarshal(trimmed, &body) == nil {
			if body.Type != "" {
				return sanitizeCode(body.Type)
			}
			return sanitizeCode(body.Code)
		}
	}
	return ""
}

// sanitizeCode turns "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
// or "ThrottlingException:http://internal.amazon.com/" into the bare code.
func sanitizeCode(code string) string {
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	return strings.TrimSpace(code)
}
