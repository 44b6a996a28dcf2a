package load

import (
	"fmt"
	"strings"
)

// What retries the calls of a run (Config.Retryer, ScenarioConfig.Retryer).
const (
	// RetryerTollgate is tollgate's middleware (middleware.WithTollgate) with the run's limiter.
	RetryerTollgate = "tollgate"
	// RetryerStandard is the SDK's standard retry mode (retry.NewStandard).
	RetryerStandard = "standard"
	// RetryerAdaptive is the SDK's adaptive retry mode (retry.NewAdaptiveMode).
	RetryerAdaptive = "adaptive"
)

// Retryers lists the retryers, for flag help.
var Retryers = []string{RetryerStandard, RetryerAdaptive, RetryerTollgate}

// retryerKind checks a retryer name; "" is RetryerTollgate.
func retryerKind(s string) (string, error) {
	switch s {
	case "":
		return RetryerTollgate, nil
	case RetryerTollgate, RetryerStandard, RetryerAdaptive:
		return s, nil
	}
	return "", fmt.Errorf("load: retryer %q: want %s", s, strings.Join(Retryers, ", "))
}
