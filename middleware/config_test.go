package middleware

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/simulate/emulator"
)

// WithTollgate installs tollgate in every client made from the config: their attempts are
// observed, and their retryer is tollgate's.
func TestWithTollgateInstallsInEveryClient(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_RETRY_MODE", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_CA_BUNDLE", "")
	synctest.Test(t, func(t *testing.T) {
		emu := newEmulator(t, emulator.Options{Seed: 4})
		rec := &recorder{}
		tg := mustNew(t, Config{Seed: 1, Observer: rec})
		cfg, err := config.LoadDefaultConfig(context.Background(),
			WithTollgate(tg),
			config.WithRegion("eu-west-1"),
			config.WithBaseEndpoint("http://emulator.test"),
			config.WithHTTPClient(newHandlerClient(emu)),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")),
		)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
		kmsClient := kms.NewFromConfig(cfg)
		if _, err := kmsClient.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String("alias/app")}); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range rec.kinds(event.CallFinished) {
			seen = append(seen, e.Service+"/"+e.Operation+"@"+e.Region)
		}
		want := []string{"STS/GetCallerIdentity@eu-west-1", "KMS/DescribeKey@eu-west-1"}
		if len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
			t.Errorf("calls observed %v, want %v", seen, want)
		}
		if _, ok := kmsClient.Options().Retryer.(*retryer); !ok {
			t.Errorf("client retryer is %T, want tollgate's", kmsClient.Options().Retryer)
		}
	})
}
