package trace

import "testing"

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
		want   Outcome
	}{
		{"", 200, OutcomeSuccess},
		{"", 0, OutcomeSuccess},
		{"", 304, OutcomeSuccess},
		{"SlowDown", 503, OutcomeThrottled}, // the code decides before the status
		{"RequestLimitExceeded", 0, OutcomeThrottled},
		{"ThrottlingException", 400, OutcomeThrottled},
		{"EC2ThrottledException", 0, OutcomeThrottled},
		{"PriorRequestNotComplete", 400, OutcomeThrottled},
		{"", 429, OutcomeThrottled},
		{"SomethingNew", 429, OutcomeThrottled},
		{"RequestTimeout", 400, OutcomeTransient},
		{"InternalError", 500, OutcomeTransient},
		{"ServiceUnavailable", 503, OutcomeTransient},
		{"", 502, OutcomeTransient},
		{"SomethingNew", 504, OutcomeTransient},
		{"", 501, OutcomeNonRetryable},
		{"NoSuchKey", 404, OutcomeNonRetryable},
		{"AccessDenied", 0, OutcomeNonRetryable},
		{"", 403, OutcomeNonRetryable},
	} {
		if got := classify(tc.code, tc.status); got != tc.want {
			t.Errorf("classify(%q, %d) = %s, want %s", tc.code, tc.status, got, tc.want)
		}
	}
	for _, code := range []string{"Client.RequestLimitExceeded", "Server.InternalError"} {
		if got := classify(code, 0); got == OutcomeNonRetryable || got == OutcomeSuccess {
			t.Errorf("classify(%q, 0) = %s: CloudTrail's EC2 prefix not understood", code, got)
		}
	}
}
