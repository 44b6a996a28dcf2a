package fleet

import (
	"fmt"
	"strings"
)

// DefaultPrefix starts every key the fleet store writes, unless Options.Prefix says otherwise.
const DefaultPrefix = "tollgate:"

// BucketID names one shared bucket: the limiter rule whose bucket it is and the part of the
// call that splits the rule into buckets. Two processes share a bucket exactly when their
// BucketIDs are equal and they use the same prefix on the same Redis.
//
// Rule, Service, Operation and Region are also the labels of the bucket's events and metrics;
// Partition (an S3 bucket and prefix, a DynamoDB table) only names the key, never a label.
type BucketID struct {
	Rule      string // limiter rule name ("ec2-describe")
	Region    string // AWS Region ("us-east-1")
	Service   string // AWS SDK service ID ("EC2")
	Operation string // operation, or the shared group's name for a shared rule
	Partition string // resource and prefix for partitioned rules; "" otherwise
}

// String is the bucket's name inside its key's hash tag.
func (b BucketID) String() string {
	var sb strings.Builder
	for i, s := range [...]string{b.Rule, b.Region, b.Service, b.Operation, b.Partition} {
		if i > 0 {
			sb.WriteByte('|')
		}
		escapeTo(&sb, s)
	}
	return sb.String()
}

// escapeTo writes s with the bytes that would break a key's structure percent-encoded: braces
// (Redis Cluster hash tags), the field separator and the escape byte itself. Distinct IDs stay
// distinct.
func escapeTo(sb *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '{', '}', '|', '%':
			fmt.Fprintf(sb, "%%%02X", c)
		default:
			sb.WriteByte(c)
		}
	}
}

// keys returns the bucket's two Redis keys: its state and its leases. Both carry the bucket's
// name as their one hash tag, so Redis Cluster places them in the same slot, which a script
// touching both requires; different buckets spread over the cluster's slots.
func keys(prefix string, b BucketID) [2]string {
	tag := "{" + b.String() + "}"
	return [2]string{prefix + tag + ":bucket", prefix + tag + ":leases"}
}

// checkPrefix rejects a prefix that would break the hash tag: a brace in the prefix would make
// Redis Cluster hash the wrong part of the key.
func checkPrefix(p string) error {
	if strings.ContainsAny(p, "{}") {
		return fmt.Errorf("fleet: prefix %q: must not contain '{' or '}' (Redis Cluster hash tags)", p)
	}
	return nil
}
