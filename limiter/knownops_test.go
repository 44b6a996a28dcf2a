package limiter

import (
	"strings"
	"testing"
)

// unknownAlternative's lookup of plain names answers as matching every known operation with
// globMatch does, for every rule of the defaults and for names in other cases.
func TestUnknownAlternativeLookup(t *testing.T) {
	brute := func(service, pattern string) (string, bool) {
		ops, listed := KnownOperations(service)
		if !listed {
			return "", true
		}
		for _, alt := range strings.Split(pattern, "|") {
			found := false
			for _, op := range ops {
				if globMatch(baseOperation(alt), op) {
					found = true
					break
				}
			}
			if !found {
				return alt, false
			}
		}
		return "", true
	}
	patterns := map[string][]string{}
	for _, r := range DefaultRules() {
		patterns[r.Service] = append(patterns[r.Service], r.Operation, strings.ToUpper(r.Operation), strings.ToLower(r.Operation))
	}
	patterns["EC2"] = append(patterns["EC2"], "DescribeInstancez", "Describe*|Nope", "describeinstances:unfiltered", "D?scribeVolumes", strings.Repeat("A", 70))
	patterns["S3"] = append(patterns["S3"], "getobject", "GetObject|PutObjectX")
	patterns["Unknown"] = []string{"Anything"}
	for service, ps := range patterns {
		for _, p := range ps {
			ga, gok := unknownAlternative(service, p)
			wa, wok := brute(service, p)
			if ga != wa || gok != wok {
				t.Errorf("%s %q: unknownAlternative = %q %v, matching every operation gives %q %v", service, p, ga, gok, wa, wok)
			}
		}
	}
}
