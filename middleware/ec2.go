package middleware

import (
	"reflect"
	"strings"

	"github.com/tollgate/tollgate/limiter"
)

// limiterOperation returns the operation name for the limiter key. EC2 gives DescribeInstances,
// DescribeVolumes and five other Describe actions a smaller bucket (50 burst, 10/s) when they are
// called with neither a filter nor pagination; such calls are keyed with the limiter's
// ":unfiltered" variant so they draw from that bucket.
func limiterOperation(service, operation string, input any) string {
	if service != "EC2" {
		return operation
	}
	alt, ok := limiter.UnfilteredOperation(operation)
	if !ok || !unfilteredUnpaginated(input) {
		return operation
	}
	return alt
}

// unfilteredUnpaginated reports whether an EC2 Describe input has no Filters, no MaxResults, no
// NextToken and no list of IDs (InstanceIds, VolumeIds, ...): AWS's "unfiltered and unpaginated".
func unfilteredUnpaginated(input any) bool {
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	v = v.Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		fv := v.Field(i)
		switch {
		case f.Name == "Filters" || strings.HasSuffix(f.Name, "Ids"):
			if fv.Kind() == reflect.Slice && fv.Len() > 0 {
				return false
			}
		case f.Name == "MaxResults" || f.Name == "NextToken":
			if fv.Kind() == reflect.Pointer && !fv.IsNil() {
				return false
			}
		}
	}
	return true
}
