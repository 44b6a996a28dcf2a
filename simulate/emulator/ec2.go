package emulator

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tollgate/tollgate/simulate/server"
)

const ec2XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"

var ec2Service = service{
	id: "EC2",
	operations: map[string]bool{
		"DescribeInstances": true, "RunInstances": true, "TerminateInstances": true, "CreateTags": true,
	},
	writeError: writeEC2Error,
	throttle: func(*exchange) *apiError {
		return &apiError{status: http.StatusServiceUnavailable, code: "RequestLimitExceeded",
			message: "Request limit exceeded.", throttled: true}
	},
	internal: func(*exchange) *apiError {
		return &apiError{status: http.StatusInternalServerError, code: "InternalError",
			message: "An internal error has occurred"}
	},
}

// ec2ErrorResponse is the ec2query error body: <Response><Errors><Error>…</Errors><RequestID>.
type ec2ErrorResponse struct {
	XMLName   xml.Name      `xml:"Response"`
	Errors    []ec2ErrorXML `xml:"Errors>Error"`
	RequestID string        `xml:"RequestID"`
}

type ec2ErrorXML struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeEC2Error(x *exchange, err *apiError) {
	body := xmlDocument(ec2ErrorResponse{
		Errors:    []ec2ErrorXML{{Code: err.code, Message: err.message}},
		RequestID: x.requestID(),
	})
	x.w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	x.setRequestIDHeaders()
	write(x.w, x.r, err.status, body)
}

// ec2Error returns a client error (HTTP 400) in EC2's vocabulary.
func ec2Error(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func errMalformedQuery(err error) *apiError {
	return ec2Error("MalformedQueryString", "The request body could not be parsed as a form: %v", err)
}

// serveEC2 answers an ec2query request (form already parsed).
func (e *Emulator) serveEC2(x *exchange, form url.Values) {
	x.op = form.Get("Action")
	switch x.op {
	case "":
		x.fail(ec2Error("MissingAction", "The request must contain the parameter Action."))
	case "DescribeInstances":
		e.ec2DescribeInstances(x, form)
	case "RunInstances":
		e.ec2RunInstances(x, form)
	case "TerminateInstances":
		e.ec2TerminateInstances(x, form)
	case "CreateTags":
		e.ec2CreateTags(x, form)
	default:
		x.fail(ec2Error("InvalidAction", "The action %s is not valid for this web service "+
			"(the tollgate emulator implements DescribeInstances, RunInstances, TerminateInstances and CreateTags).",
			truncate(x.op, 128)))
	}
}

// ec2DryRun answers DryRun=true requests (after throttling, as AWS does) and reports whether it did.
func ec2DryRun(x *exchange, form url.Values) bool {
	if form.Get("DryRun") != "true" {
		return false
	}
	x.fail(&apiError{status: http.StatusPreconditionFailed, code: "DryRunOperation",
		message: "Request would have succeeded, but DryRun flag is set."})
	return true
}

func (x *exchange) replyEC2(v any) {
	x.reply(http.StatusOK, "text/xml;charset=UTF-8", xmlDocument(v))
}

// xmlDocument marshals v with an XML declaration. The types marshalled here cannot fail.
func xmlDocument(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic("emulator: marshal " + fmt.Sprintf("%T", v) + ": " + err.Error())
	}
	return append([]byte(xml.Header), b...)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ---- DescribeInstances

type ec2DescribeInstancesResponse struct {
	XMLName      xml.Name            `xml:"DescribeInstancesResponse"`
	XMLNS        string              `xml:"xmlns,attr"`
	RequestID    string              `xml:"requestId"`
	Reservations []ec2ReservationXML `xml:"reservationSet>item"`
	NextToken    string              `xml:"nextToken,omitempty"`
}

func (e *Emulator) ec2DescribeInstances(x *exchange, form url.Values) {
	ids, bad, ok := scalarList(form, "InstanceId")
	if !ok {
		x.fail(ec2Error("InvalidParameterValue", "Invalid list member %q", truncate(bad, 64)))
		return
	}
	filters, aerr := parseEC2Filters(form)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	maxResults := 0
	if s := form.Get("MaxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 5 || n > 1000 {
			x.fail(ec2Error("InvalidParameterValue", "Value ( %s ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", truncate(s, 32)))
			return
		}
		if len(ids) > 0 {
			x.fail(ec2Error("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults"))
			return
		}
		maxResults = n
	}
	start := 0
	if tok := form.Get("NextToken"); tok != "" {
		n, ok := decodeIndexToken(tok)
		if !ok {
			x.fail(ec2Error("InvalidParameterValue", "Invalid value '%s' for nextToken", truncate(tok, 64)))
			return
		}
		start = n
	}
	// AWS charges a Describe call made with neither a filter (Filter.N, InstanceId.N) nor
	// pagination (MaxResults, NextToken) to the smaller unfiltered bucket.
	unfiltered := len(ids) == 0 && len(filters) == 0 && maxResults == 0 && form.Get("NextToken") == ""
	if !x.admit(server.Request{Unfiltered: unfiltered}) || ec2DryRun(x, form) {
		return
	}
	page, next, missing := e.ec2.describe(x.region, ids, filters, start, maxResults)
	if missing != "" {
		x.fail(ec2Error("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", truncate(missing, 64)))
		return
	}
	resp := ec2DescribeInstancesResponse{XMLNS: ec2XMLNS, RequestID: x.requestID()}
	resp.Reservations = groupReservations(page, e.account)
	if next > 0 {
		resp.NextToken = encodeIndexToken(next)
	}
	x.replyEC2(resp)
}

// ---- RunInstances

type ec2RunInstancesResponse struct {
	XMLName xml.Name `xml:"RunInstancesResponse"`
	XMLNS   string   `xml:"xmlns,attr"`
	ec2ReservationXML
	RequestID string `xml:"requestId"`
}

func (e *Emulator) ec2RunInstances(x *exchange, form url.Values) {
	minCount, aerr := requiredCount(form, "MinCount")
	if aerr != nil {
		x.fail(aerr)
		return
	}
	maxCount, aerr := requiredCount(form, "MaxCount")
	if aerr != nil {
		x.fail(aerr)
		return
	}
	if minCount > maxCount {
		x.fail(ec2Error("InvalidParameterValue", "MinCount (%d) must be less than or equal to MaxCount (%d)", minCount, maxCount))
		return
	}
	imageID := form.Get("ImageId")
	if imageID == "" && form.Get("LaunchTemplate.LaunchTemplateId") == "" && form.Get("LaunchTemplate.LaunchTemplateName") == "" {
		x.fail(ec2Error("MissingParameter", "The request must contain the parameter ImageId"))
		return
	}
	tags, aerr := parseTagSpecifications(form, "instance")
	if aerr != nil {
		x.fail(aerr)
		return
	}
	// One request token, plus one resource token per instance launched (MaxCount: the emulator
	// always has capacity, so it launches MaxCount).
	if !x.admit(server.Request{Units: maxCount}) || ec2DryRun(x, form) {
		return
	}
	instanceType := form.Get("InstanceType")
	if instanceType == "" {
		instanceType = "m1.small"
	}
	res := e.ec2.run(e, x.region, imageID, instanceType, maxCount, tags)
	resp := ec2RunInstancesResponse{XMLNS: ec2XMLNS, RequestID: x.requestID()}
	resp.ec2ReservationXML = reservationXML(res, e.account, stateXML(ec2Pending))
	x.replyEC2(resp)
}

func requiredCount(form url.Values, name string) (int, *apiError) {
	s := form.Get(name)
	if s == "" {
		return 0, ec2Error("MissingParameter", "The request must contain the parameter %s", name)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxRunInstances {
		return 0, ec2Error("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expecting a value between 1 and %d.", truncate(s, 32), name, maxRunInstances)
	}
	return n, nil
}

// maxRunInstances bounds MinCount and MaxCount (the size of the RunInstances resource bucket).
const maxRunInstances = 1000

// ---- TerminateInstances

type ec2TerminateInstancesResponse struct {
	XMLName   xml.Name            `xml:"TerminateInstancesResponse"`
	XMLNS     string              `xml:"xmlns,attr"`
	RequestID string              `xml:"requestId"`
	Changes   []ec2StateChangeXML `xml:"instancesSet>item"`
}

type ec2StateChangeXML struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  ec2InstanceState `xml:"currentState"`
	PreviousState ec2InstanceState `xml:"previousState"`
}

func (e *Emulator) ec2TerminateInstances(x *exchange, form url.Values) {
	ids, bad, ok := scalarList(form, "InstanceId")
	if !ok {
		x.fail(ec2Error("InvalidParameterValue", "Invalid list member %q", truncate(bad, 64)))
		return
	}
	if len(ids) == 0 {
		x.fail(ec2Error("MissingParameter", "The request must contain the parameter InstanceId"))
		return
	}
	if !x.admit(server.Request{Units: len(ids)}) || ec2DryRun(x, form) {
		return
	}
	changes, missing := e.ec2.terminate(x.region, ids)
	if missing != "" {
		x.fail(ec2Error("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", truncate(missing, 64)))
		return
	}
	resp := ec2TerminateInstancesResponse{XMLNS: ec2XMLNS, RequestID: x.requestID()}
	for _, c := range changes {
		resp.Changes = append(resp.Changes, ec2StateChangeXML{
			InstanceID: c.id, CurrentState: stateXML(c.current), PreviousState: stateXML(c.previous),
		})
	}
	x.replyEC2(resp)
}

// ---- CreateTags

type ec2CreateTagsResponse struct {
	XMLName   xml.Name `xml:"CreateTagsResponse"`
	XMLNS     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Return    bool     `xml:"return"`
}

func (e *Emulator) ec2CreateTags(x *exchange, form url.Values) {
	resources, bad, ok := scalarList(form, "ResourceId")
	if !ok {
		x.fail(ec2Error("InvalidParameterValue", "Invalid list member %q", truncate(bad, 64)))
		return
	}
	if len(resources) == 0 {
		x.fail(ec2Error("MissingParameter", "The request must contain the parameter ResourceId"))
		return
	}
	tags, aerr := parseTags(form, "Tag")
	if aerr != nil {
		x.fail(aerr)
		return
	}
	if len(tags) == 0 {
		x.fail(ec2Error("MissingParameter", "The request must contain the parameter Tag"))
		return
	}
	if !x.admit(server.Request{}) || ec2DryRun(x, form) {
		return
	}
	if missing := e.ec2.tag(x.region, resources, tags); missing != "" {
		x.fail(ec2Error("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", truncate(missing, 64)))
		return
	}
	x.replyEC2(ec2CreateTagsResponse{XMLNS: ec2XMLNS, RequestID: x.requestID(), Return: true})
}

// ---- parameters

// parseTags reads a flattened tag list (prefix.N.Key, prefix.N.Value).
func parseTags(form url.Values, prefix string) ([]ec2Tag, *apiError) {
	ms, bad, ok := listMembers(form, prefix)
	if !ok {
		return nil, ec2Error("InvalidParameterValue", "Invalid list member %q", truncate(bad, 64))
	}
	var tags []ec2Tag
	for _, m := range ms {
		key := m.fields.Get("Key")
		if key == "" {
			return nil, ec2Error("InvalidParameterValue", "Tag key must not be empty (%s.%d.Key)", prefix, m.index)
		}
		if len(key) > 128 || len(m.fields.Get("Value")) > 256 {
			return nil, ec2Error("InvalidParameterValue", "Tag %s.%d is too long: keys are at most 128 characters, values 256", prefix, m.index)
		}
		tags = append(tags, ec2Tag{Key: key, Value: m.fields.Get("Value")})
	}
	return tags, nil
}

// parseTagSpecifications returns the tags of the TagSpecification.N members for resourceType.
func parseTagSpecifications(form url.Values, resourceType string) ([]ec2Tag, *apiError) {
	ms, bad, ok := listMembers(form, "TagSpecification")
	if !ok {
		return nil, ec2Error("InvalidParameterValue", "Invalid list member %q", truncate(bad, 64))
	}
	var tags []ec2Tag
	for _, m := range ms {
		if m.fields.Get("ResourceType") != resourceType {
			continue
		}
		sub := url.Values{}
		for k, v := range m.fields {
			sub[k] = v
		}
		t, aerr := parseTags(sub, "Tag")
		if aerr != nil {
			return nil, aerr
		}
		tags = append(tags, t...)
	}
	return tags, nil
}

// ec2Filter is one Filter.N: a name and the values any of which may match.
type ec2Filter struct {
	name   string
	values []string
}

func parseEC2Filters(form url.Values) ([]ec2Filter, *apiError) {
	ms, bad, ok := listMembers(form, "Filter")
	if !ok {
		return nil, ec2Error("InvalidParameterValue", "Invalid list member %q", truncate(bad, 64))
	}
	var out []ec2Filter
	for _, m := range ms {
		name := m.fields.Get("Name")
		if !isKnownEC2Filter(name) {
			return nil, ec2Error("InvalidParameterValue", "The filter '%s' is invalid", truncate(name, 128))
		}
		values, bad, ok := scalarList(m.fields, "Value")
		if !ok {
			return nil, ec2Error("InvalidParameterValue", "Invalid list member Filter.%d.%s", m.index, truncate(bad, 64))
		}
		out = append(out, ec2Filter{name: name, values: values})
	}
	return out, nil
}
