package emulator

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tollgate/tollgate/simulate/server"
)

func TestFaultWindows(t *testing.T) {
	faults, err := server.ParseFaults("faults.yaml", []byte(`
windows:
  - service: dynamodb
    operation: GetItem
    start: 10s
    duration: 5s
    mode: error
  - service: kms
    start: 0s
    duration: 2s
    every: 10s
    mode: throttle
`))
	if err != nil {
		t.Fatal(err)
	}
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Faults: faults})
	ddb := dynamodb.NewFromConfig(sdkConfig(e, "us-east-1"))
	kmsc := kms.NewFromConfig(sdkConfig(e, "us-east-1"))
	ctx := context.Background()
	getItem := func() error {
		_, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"),
			Key: map[string]types.AttributeValue{"pk": s("a"), "sk": s("b")}})
		return err
	}
	putItem := func() error {
		_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"),
			Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("b")}})
		return err
	}
	describeKey := func() error {
		_, err := kmsc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/a")})
		return err
	}
	expect := func(at string, err error, wantCode string, wantStatus int) {
		t.Helper()
		if wantCode == "" {
			if err != nil {
				t.Errorf("%s: %v, want success", at, err)
			}
			return
		}
		if code, status, _ := apiErrorOf(t, err); code != wantCode || status != wantStatus {
			t.Errorf("%s: (%q, %d), want (%q, %d)", at, code, status, wantCode, wantStatus)
		}
	}

	// Offsets count from Start, which read the clock at 0 s.
	expect("t=0s KMS", describeKey(), "ThrottlingException", http.StatusBadRequest)
	expect("t=0s GetItem", getItem(), "", 0)
	clock.Advance(3 * time.Second)
	expect("t=3s KMS", describeKey(), "", 0)
	clock.Advance(8 * time.Second)
	expect("t=11s GetItem", getItem(), "InternalServerError", http.StatusInternalServerError)
	expect("t=11s PutItem", putItem(), "", 0)
	expect("t=11s KMS (window repeats every 10s)", describeKey(), "ThrottlingException", http.StatusBadRequest)
	clock.Advance(4 * time.Second)
	expect("t=15s GetItem", getItem(), "", 0)
}
