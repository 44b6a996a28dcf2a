package middleware

import (
	"context"
	"crypto/x509"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// caseSetup is where one run of a failure case sends its call: the endpoint, the SDK HTTP
// client, and the call's context.
type caseSetup struct {
	endpoint string
	client   aws.HTTPClient
	ctx      context.Context
}

// failureCase is one entry of the catalogue: a way for an attempt to fail, produced for real —
// by a server on a loopback socket, a closed port, a DNS stub, a TLS listener or the caller's
// context — for any protocol family.
type failureCase struct {
	name  string
	group string
	setup setupFunc
	// want, for the transport and context cases, is the status and transport failure tollgate
	// must read from the error — proof that the case produced the failure it is named after
	// (a reset "after headers" that came before them would be another case). One of them.
	want []backoff.Signal
}

// readTimeout is the SDK read timeout (BuildableClient.WithReadTimeout) and client timeout the
// timeout cases give their first, faulty attempt: long enough for a loopback server to send
// the headers and half a body on a busy machine, short enough to keep the catalogue quick.
const readTimeout = time.Second

// serverFault fails the first request with fault; the client is the SDK's HTTP client.
func serverFault(fault func(*faultServer, http.ResponseWriter, *http.Request)) setupFunc {
	return func(t *testing.T, fam family, next http.Handler) caseSetup {
		s := newFaultServer(t, next, faultServerOptions{fault: fault, faulty: 1})
		return caseSetup{endpoint: s.URL(), client: notifyClient{sdkHTTPClient(nil, nil), notifyHeaders(s)}, ctx: context.Background()}
	}
}

// apiError fails the first request with an AWS error in the family's wire format.
func apiError(status int, code func(family) string) setupFunc {
	return setupFunc(nil).withFault(func(fam family) func(*faultServer, http.ResponseWriter, *http.Request) {
		return func(_ *faultServer, w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			fam.writeError(w, status, code(fam))
		}
	})
}

type setupFunc func(*testing.T, family, http.Handler) caseSetup

// withFault builds a setup whose fault depends on the family.
func (setupFunc) withFault(f func(family) func(*faultServer, http.ResponseWriter, *http.Request)) setupFunc {
	return func(t *testing.T, fam family, next http.Handler) caseSetup {
		return serverFault(f(fam))(t, fam, next)
	}
}

func code(c string) func(family) string { return func(family) string { return c } }

// clockSkew answers the first request with the family's clock-skew code and a Date header off by
// skew from the real time.
func clockSkew(skew time.Duration) setupFunc {
	return setupFunc(nil).withFault(func(fam family) func(*faultServer, http.ResponseWriter, *http.Request) {
		return func(_ *faultServer, w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
			fam.writeError(w, http.StatusForbidden, fam.skewCode)
		}
	})
}

// withClient runs a server fault with the SDK HTTP client changed by opt.
func withClient(fault func(*faultServer, http.ResponseWriter, *http.Request), opt func(*faultServer) aws.HTTPClient) setupFunc {
	return func(t *testing.T, fam family, next http.Handler) caseSetup {
		s := newFaultServer(t, next, faultServerOptions{fault: fault, faulty: 1})
		return caseSetup{endpoint: s.URL(), client: opt(s), ctx: context.Background()}
	}
}

// dnsFailure sends every call to a name under .invalid that the loopback DNS stub answers with
// rcode; a real server listens on the port, so nothing but the name stands in the way.
func dnsFailure(rcode byte, name string) setupFunc {
	return func(t *testing.T, fam family, next http.Handler) caseSetup {
		stub := startDNSStub(t, rcode)
		t.Cleanup(func() {
			if stub.count() == 0 {
				t.Errorf("the DNS stub got no query for %s: the name was resolved elsewhere", name)
			}
		})
		s := newFaultServer(t, next, faultServerOptions{})
		_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
		return caseSetup{endpoint: "http://" + net.JoinHostPort(name, port),
			client: sdkHTTPClient(nil, stub.resolver()), ctx: context.Background()}
	}
}

// tlsFault serves HTTPS, handing the first raw connection to fault; the client trusts the
// server's certificate unless untrusted is set.
func tlsFault(fault func(net.Conn), untrusted bool) setupFunc {
	return func(t *testing.T, fam family, next http.Handler) caseSetup {
		opts := faultServerOptions{tls: true, tlsFault: fault}
		if fault != nil {
			opts.tlsFaults = 1
		}
		s := newFaultServer(t, next, opts)
		roots := s.roots()
		if untrusted {
			roots = x509.NewCertPool()
		}
		return caseSetup{endpoint: s.URL(), client: sdkHTTPClient(roots, nil), ctx: context.Background()}
	}
}

// ctxFault stalls the first request and ends the call's context once the server has the
// request: canceled, or with its deadline passed (ctx.Err() = context.DeadlineExceeded, the value
// a passed deadline gives) — at that moment and no other, so a busy machine cannot make the
// deadline pass before the attempt was even sent.
func ctxFault(cancelOnRequest bool) setupFunc {
	return func(t *testing.T, fam family, next http.Handler) caseSetup {
		s := newFaultServer(t, next, faultServerOptions{fault: faultStallBeforeHeaders, faulty: 1})
		ctx := &endingContext{Context: context.Background(), done: make(chan struct{}), err: context.DeadlineExceeded}
		if cancelOnRequest {
			ctx.err = context.Canceled
		}
		stop := make(chan struct{})
		go func() {
			select {
			case <-s.requestSeen:
				ctx.end()
			case <-stop:
			}
		}()
		t.Cleanup(func() { close(stop) })
		return caseSetup{endpoint: s.URL(), client: sdkHTTPClient(nil, nil), ctx: ctx}
	}
}

// endingContext is a context that ends when the test says, with err (context.Canceled or
// context.DeadlineExceeded).
type endingContext struct {
	context.Context // Background: no values, no deadline
	once            sync.Once
	done            chan struct{}
	err             error
}

func (c *endingContext) end()                  { c.once.Do(func() { close(c.done) }) }
func (c *endingContext) Done() <-chan struct{} { return c.done }
func (c *endingContext) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// firstClient sends a call's first request with first and the others with rest: the timeout
// cases time out their faulty attempt quickly, and their retry has all the time a busy machine
// may need.
type firstClient struct {
	first, rest aws.HTTPClient
	sent        atomic.Int32
}

func (c *firstClient) Do(req *http.Request) (*http.Response, error) {
	if c.sent.Add(1) == 1 {
		return c.first.Do(req)
	}
	return c.rest.Do(req)
}

// catalogue returns every failure case: the SDK's throttle and transient codes (from the SDK's
// own tables), every code tollgate's table knows, HTTP statuses, non-retryable codes, each
// transport failure on a real socket, clock skew, and the caller's context.
func catalogue(t *testing.T) []failureCase {
	var cases []failureCase
	add := func(group, name string, setup setupFunc) {
		cases = append(cases, failureCase{name: name, group: group, setup: setup})
	}
	expect := func(status int, tr backoff.Transport) {
		c := &cases[len(cases)-1]
		c.want = append(c.want, backoff.Signal{Status: status, Transport: tr})
	}
	throttles := sortedKeys(retry.DefaultThrottleErrorCodes)
	for _, c := range throttles {
		add("throttle code", "400 "+c, apiError(400, code(c)))
	}
	for _, c := range sortedKeys(retry.DefaultRetryableErrorCodes) {
		add("transient code", "400 "+c, apiError(400, code(c)))
	}
	for _, c := range tollgateOnlyCodes(t) {
		add("transient code", "400 "+c, apiError(400, code(c)))
		add("transient code", "500 "+c, apiError(500, code(c)))
	}
	add("throttle code", "503 SlowDown", apiError(503, code("SlowDown")))
	add("throttle code", "503 RequestLimitExceeded", apiError(503, code("RequestLimitExceeded")))
	for _, st := range sortedKeys(retry.DefaultRetryableHTTPStatusCodes) {
		add("HTTP status", fmt.Sprintf("%d unlisted code", st), apiError(st, code("UnlistedFault")))
	}
	add("HTTP status", "429 unlisted code", apiError(429, code("UnlistedFault")))
	add("HTTP status", "429 modeled non-throttle code", apiError(429, func(f family) string {
		if f.modeled == "" {
			return "UnlistedFault"
		}
		return f.modeled
	}))
	add("HTTP status", "501 unlisted code", apiError(501, code("UnlistedFault")))
	add("non-retryable", "400 ValidationException", apiError(400, code("ValidationException")))
	add("non-retryable", "400 InvalidParameterValue", apiError(400, code("InvalidParameterValue")))
	add("non-retryable", "403 AccessDenied", apiError(403, code("AccessDenied")))
	add("non-retryable", "404 modeled not-found code", apiError(404, func(f family) string {
		if f.modeled == "" {
			return "InvalidInstanceID.NotFound"
		}
		return f.modeled
	}))
	add("non-retryable", "409 ConditionalCheckFailedException", apiError(409, code("ConditionalCheckFailedException")))

	add("transport", "reset before headers", serverFault(faultResetBeforeHeaders))
	expect(0, backoff.ConnReset)
	add("transport", "closed before headers (EOF)", serverFault(faultCloseBeforeHeaders))
	expect(0, backoff.UnexpectedEOF)
	add("transport", "reset after headers", serverFault(faultResetAfterHeaders))
	expect(200, backoff.ConnReset)
	add("transport", "reset mid-body", serverFault(faultResetMidBody))
	expect(200, backoff.ConnReset)
	add("transport", "closed mid-body (short body)", serverFault(faultCloseMidBody))
	expect(200, backoff.UnexpectedEOF)
	add("transport", "connection refused", func(t *testing.T, fam family, next http.Handler) caseSetup {
		return caseSetup{endpoint: "http://" + closedPort(t), client: sdkHTTPClient(nil, nil), ctx: context.Background()}
	})
	expect(0, backoff.ConnRefused)
	add("transport", "read timeout before headers", withClient(faultStallBeforeHeaders, func(*faultServer) aws.HTTPClient {
		return &firstClient{first: sdkHTTPClient(nil, nil).WithReadTimeout(readTimeout), rest: sdkHTTPClient(nil, nil)}
	}))
	expect(0, backoff.TransportTimeout)
	add("transport", "read timeout mid-body", withClient(faultStallMidBody, func(s *faultServer) aws.HTTPClient {
		return &firstClient{first: sdkHTTPClient(nil, nil).WithReadTimeout(readTimeout), rest: sdkHTTPClient(nil, nil)}
	}))
	expect(200, backoff.TransportTimeout)
	// On a loaded machine net/http may close the connection under the body's reader as the
	// timeout fires; the reader then sees "use of closed network connection".
	expect(200, backoff.ConnReset)
	add("transport", "client timeout (http.Client.Timeout)", withClient(faultStallBeforeHeaders, func(*faultServer) aws.HTTPClient {
		return &firstClient{first: sdkHTTPClient(nil, nil).WithTimeout(readTimeout), rest: sdkHTTPClient(nil, nil)}
	}))
	expect(0, backoff.TransportTimeout)
	add("transport", "TLS handshake reset", tlsFault(tlsFaultResetHandshake, false))
	expect(0, backoff.ConnReset)
	add("transport", "TLS handshake alert", tlsFault(tlsFaultAlert, false))
	expect(0, backoff.SendFailed)
	add("transport", "TLS certificate not trusted", tlsFault(nil, true))
	expect(0, backoff.BadCertificate)
	add("transport", "DNS NXDOMAIN", dnsFailure(3, "nx.tollgate.invalid"))
	expect(0, backoff.NameNotFound)
	add("transport", "DNS SERVFAIL", dnsFailure(2, "servfail.tollgate.invalid"))
	expect(0, backoff.ConnRefused)
	add("transport", "not HTTP (malformed response)", serverFault(faultGarbage))
	expect(0, backoff.SendFailed)
	add("transport", "200 with a malformed body", serverFault(faultGarbageBody))
	expect(200, backoff.NoTransportError)

	add("clock skew", "skew code, Date 10 min ahead", clockSkew(10*time.Minute))
	add("clock skew", "skew code, Date 10 min behind", clockSkew(-10*time.Minute))
	add("clock skew", "skew code, clocks agree", clockSkew(0))

	add("context", "caller cancels", ctxFault(true))
	expect(0, backoff.Canceled)
	add("context", "caller's deadline passes", ctxFault(false))
	expect(0, backoff.TransportTimeout)
	return cases
}

// deliberate lists the cases where tollgate's class differs from the SDK's on purpose, with the
// reason; the same rows are the table "Where tollgate retries differently from the SDK" in the
// package documentation (doc.go), which TestDifferentialCatalogue checks. A key is a case name,
// or "case name/protocol" when only one family differs.
var deliberate = map[string]string{
	"closed mid-body (short body)": "a 200 whose body ends before its Content-Length is a response cut off in transit; the SDK retries it only when the error text says \"connection reset\"",
	"TLS certificate not trusted":  "an untrusted, expired or misnamed certificate comes back on every attempt; retrying spends budget and time for nothing",
	"400 InternalError":            "AWS lists InternalError as transient whatever the status (S3 sends it inside a 200 for CopyObject); the SDK retries it only by status (5xx)",
	"400 InternalFailure":          "AWS's common InternalFailure error is a server fault; the SDK retries it only by status (5xx)",
	"400 ServiceUnavailable":       "AWS's common ServiceUnavailable error is transient; the SDK retries it only by status (503)",
}

func init() {
	// The SDK's STS client retries IDPCommunicationError too (retry.AddWithErrorCodes); the
	// others do not.
	for _, p := range []string{"ec2query", "restXml", "awsJson1.0", "awsJson1.1", "restJson1"} {
		deliberate["400 IDPCommunicationError/"+p] = "transient per the AWS SDKs retry behavior guide; the SDK retries it only in its STS client, tollgate in every client"
	}
}

// deliberateReason returns why case c on family fam may differ from the SDK, or "".
func deliberateReason(c failureCase, fam family) string {
	if r, ok := deliberate[c.name+"/"+fam.protocol]; ok {
		return r
	}
	return deliberate[c.name]
}

// sdkClass is the SDK's verdict on err in tollgate's vocabulary: not retryable, a throttle, or
// another retryable failure (tollgate's Transient or Timeout).
func sdkClass(retryer aws.Retryer, err error) backoff.Class {
	switch {
	case !retryer.IsErrorRetryable(err):
		return backoff.NonRetryable
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary:
		return backoff.Throttle
	}
	return backoff.Transient
}

// sameVerdict reports whether tollgate's class says what the SDK's does.
func sameVerdict(tollgate, sdk backoff.Class) bool {
	if tollgate == backoff.Timeout {
		tollgate = backoff.Transient // the SDK retries timeouts like transient errors (base, cost)
	}
	return tollgate == sdk
}

// runResult is what one call saw.
type runResult struct {
	attempts int
	err      error
	judged   []error       // errors the SDK's retry middleware asked the retryer about
	retryer  aws.RetryerV2 // the retryer the call used
	events   *recorder
}

// runCall makes one call of fam against a fresh setup of c: with the client's own SDK retryer
// when tg is nil, with tollgate otherwise.
func runCall(t *testing.T, fam family, c failureCase, next http.Handler, tg *Tollgate, rec *recorder) runResult {
	st := c.setup(t, fam, next)
	cfg := awsConfig(st.endpoint, st.client)
	counter := &attemptCounter{}
	var retryer aws.Retryer
	var api []func(*smithymiddleware.Stack) error
	if tg != nil {
		retryer = tg.NewRetryer()
		api = append(api, tg.AddToStack)
	}
	api = append(api, counter.add)
	var pr *probe
	err := fam.call(st.ctx, cfg, retryer, func(r aws.Retryer) aws.Retryer { pr = newProbe(r); return pr }, api...)
	return runResult{attempts: counter.count(), err: err, judged: pr.seen(), retryer: pr.RetryerV2, events: rec}
}

// The differential catalogue: every failure × every protocol family, through real SDK clients
// on real sockets. For each cell the SDK's standard retryer (the client's own, with its
// service's defaults) and tollgate make the same call against the same fault; on the error
// value the SDK's retry middleware hands tollgate's retryer, tollgate's class must equal the
// SDK's verdict (its retryer's IsErrorRetryable — retry.DefaultRetryables plus the client's own
// codes — and retry.DefaultThrottles), and the two calls must make the same number of attempts
// with the same outcome; or the case is a documented deliberate difference.
func TestDifferentialCatalogue(t *testing.T) {
	emu := newEmulator(t, emulator.Options{Seed: 1})
	cases := catalogue(t)
	docTable := deliberateDocTable(t)
	for name, reason := range deliberate {
		if !slices.Contains(docTable, strings.SplitN(name, "/", 2)[0]) {
			t.Errorf("deliberate difference %q (%s) is not in the package documentation's table", name, reason)
		}
	}

	type cell struct {
		verdict   string // "agree", "deliberate", "DISAGREE"
		tollgate  backoff.Class
		sdk       backoff.Class
		sdkRuns   string
		tollRuns  string
		explained string
	}
	results := make([][]cell, len(cases))
	for i := range results {
		results[i] = make([]cell, len(families))
	}
	for fi, fam := range families {
		t.Run(fam.protocol, func(t *testing.T) {
			t.Parallel()
			for ci, c := range cases {
				sdkRun := runCall(t, fam, c, emu, nil, nil)
				rec := &recorder{}
				tg := mustNew(t, Config{Seed: uint64(ci + 1), Observer: rec})
				tgRun := runCall(t, fam, c, emu, tg, rec)
				if len(tgRun.judged) == 0 || len(sdkRun.judged) == 0 {
					t.Errorf("%s: the call did not fail (SDK: %v, tollgate: %v): the case does not exercise a retry decision", c.name, sdkRun.err, tgRun.err)
					continue
				}
				first := tgRun.judged[0]
				f := failureOf(first)
				if c.want != nil && !slices.Contains(c.want, f.Signal) {
					t.Errorf("%s: tollgate reads status %d, transport %v; the case should produce one of %+v\nerror: %v",
						c.name, f.Status, f.Transport, c.want, first)
				}
				tc := classOf(tg.classifier, first, f)
				sc := sdkClass(sdkRun.retryer, first)
				if got := sdkClass(sdkRun.retryer, sdkRun.judged[0]); got != sc {
					t.Errorf("%s: the SDK judges its own run's error %v but tollgate's run's %v: the runs saw different failures\nSDK run:      %v\ntollgate run: %v",
						c.name, got, sc, sdkRun.judged[0], first)
				}
				// tollgate's attempt outcome (event, limiter feedback) says what its retryer decides.
				if att := rec.kinds(event.AttemptFinished); len(att) == 0 || att[0].Outcome != tc {
					t.Errorf("%s: AttemptFinished events %+v, want the first with outcome %v", c.name, att, tc)
				}
				sameOutcome := sdkRun.attempts == tgRun.attempts && (sdkRun.err == nil) == (tgRun.err == nil)
				cl := cell{tollgate: tc, sdk: sc,
					sdkRuns:  fmt.Sprintf("%d attempt(s), %s", sdkRun.attempts, okOrFail(sdkRun.err)),
					tollRuns: fmt.Sprintf("%d attempt(s), %s", tgRun.attempts, okOrFail(tgRun.err))}
				reason := deliberateReason(c, fam)
				switch {
				case sameVerdict(tc, sc) && sameOutcome:
					cl.verdict = "agree"
					if reason != "" {
						t.Errorf("%s is listed as a deliberate difference but tollgate and the SDK agree on %s", c.name, fam.protocol)
					}
				case reason != "":
					cl.verdict, cl.explained = "deliberate", reason
				default:
					cl.verdict = "DISAGREE"
					t.Errorf("%s on %s: tollgate %v (%s), SDK %v (%s)\nerror: %v",
						c.name, fam.protocol, tc, cl.tollRuns, sc, cl.sdkRuns, first)
				}
				results[ci][fi] = cl
			}
		})
	}
	t.Cleanup(func() {
		agree, delib, dis := 0, 0, 0
		var b strings.Builder
		fmt.Fprintf(&b, "%-40s", "failure")
		for _, f := range families {
			fmt.Fprintf(&b, " %-22s", f.protocol)
		}
		b.WriteString("\n")
		for ci, c := range cases {
			fmt.Fprintf(&b, "%-40s", c.name)
			for fi := range families {
				cl := results[ci][fi]
				mark := ""
				switch cl.verdict {
				case "agree":
					agree++
				case "deliberate":
					delib++
					mark = "*"
				case "DISAGREE":
					dis++
					mark = "!"
				}
				fmt.Fprintf(&b, " %-22s", fmt.Sprintf("%s%s/%s", mark, cl.tollgate, cl.sdk))
			}
			b.WriteString("\n")
		}
		t.Logf("tollgate class / SDK verdict (* deliberate, ! unexplained):\n%s", b.String())
		t.Logf("%d failures × %d protocol families = %d cells: %d agree, %d deliberate (documented), %d unexplained",
			len(cases), len(families), len(cases)*len(families), agree, delib, dis)
	})
}

func okOrFail(err error) string {
	if err == nil {
		return "success"
	}
	return "failed"
}

func sortedKeys[K interface{ ~string | ~int }](m map[K]struct{}) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// tollgateOnlyCodes returns the codes of backoff's embedded table that the SDK's lists do not
// have (read from the table itself, so a code added there joins the catalogue).
func tollgateOnlyCodes(t *testing.T) []string {
	f, err := os.Open("../backoff/data/error_codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, row := range rows[1:] {
		_, throttle := retry.DefaultThrottleErrorCodes[row[0]]
		_, transient := retry.DefaultRetryableErrorCodes[row[0]]
		if !throttle && !transient {
			out = append(out, row[0])
		}
	}
	if len(out) == 0 {
		t.Fatal("backoff's table has no code of its own: the catalogue would miss nothing, or the table moved")
	}
	return out
}

// deliberateDocTable returns the first column of the deliberate-differences table in doc.go.
func deliberateDocTable(t *testing.T) []string {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(src), "# Where tollgate retries differently from the SDK")
	if !ok {
		t.Fatal("doc.go has no section \"Where tollgate retries differently from the SDK\"")
	}
	table, _, _ = strings.Cut(table, "\n//\n// #")
	var names []string
	for _, line := range strings.Split(table, "\n") {
		line = strings.TrimPrefix(line, "//")
		if name, _, ok := strings.Cut(strings.TrimSpace(line), "  "); ok && strings.HasPrefix(line, "\t") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}
