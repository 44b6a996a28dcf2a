package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"

	"github.com/tollgate/tollgate/simulate/server"
)

const stsXMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"

var stsService = service{
	id:         "STS",
	operations: map[string]bool{"GetCallerIdentity": true},
	writeError: writeAWSQueryError,
	throttle: func(*exchange) *apiError {
		return &apiError{status: http.StatusBadRequest, code: "Throttling", message: "Rate exceeded", throttled: true}
	},
	internal: func(*exchange) *apiError {
		return &apiError{status: http.StatusInternalServerError, code: "InternalFailure",
			message: "The request processing has failed because of an unknown error, exception or failure."}
	},
}

// awsQueryErrorResponse is the awsQuery error body:
// <ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>.
type awsQueryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	XMLNS   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeAWSQueryError(x *exchange, err *apiError) {
	var v awsQueryErrorResponse
	v.XMLNS = stsXMLNS
	v.Error.Type = "Sender"
	if err.status >= 500 {
		v.Error.Type = "Receiver"
	}
	v.Error.Code, v.Error.Message = err.code, err.message
	v.RequestID = x.requestID()
	x.w.Header().Set("Content-Type", "text/xml")
	x.setRequestIDHeaders()
	write(x.w, x.r, err.status, xmlDocument(v))
}

func stsError(code, message string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: message}
}

type stsGetCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	XMLNS   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// serveSTS answers an awsQuery request to STS (form already parsed).
func (e *Emulator) serveSTS(x *exchange, form url.Values) {
	x.op = form.Get("Action")
	switch x.op {
	case "":
		x.fail(stsError("MissingAction", "Missing Action"))
		return
	case "GetCallerIdentity":
	default:
		x.fail(stsError("InvalidAction", "Could not find operation "+truncate(x.op, 128)+
			" for version 2011-06-15 (the tollgate emulator implements GetCallerIdentity)"))
		return
	}
	if !x.admit(server.Request{}) {
		return
	}
	var resp stsGetCallerIdentityResponse
	resp.XMLNS = stsXMLNS
	resp.Result.Account = e.account
	resp.Result.Arn = "arn:aws:iam::" + e.account + ":user/tollgate-emulator"
	resp.Result.UserID = iamUserID(parseCredentialScope(x.r).accessKey)
	resp.RequestID = x.requestID()
	x.reply(http.StatusOK, "text/xml", xmlDocument(resp))
}

// iamUserID derives a stable IAM unique ID ("AIDA" + 17 characters) from the caller's access key.
func iamUserID(accessKey string) string {
	sum := sha256.Sum256([]byte(accessKey))
	return "AIDA" + strings.ToUpper(hex.EncodeToString(sum[:]))[:17]
}
