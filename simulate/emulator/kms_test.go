package emulator

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func TestKMSOperations(t *testing.T) {
	e := start(t, Options{Account: "111122223333", Seed: 42})
	client := kms.NewFromConfig(sdkConfig(e, "eu-central-1"))
	ctx := context.Background()
	const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	arn := "arn:aws:kms:eu-central-1:111122223333:key/" + keyID

	plaintext := []byte("card number 4111 1111 1111 1111")
	encCtx := map[string]string{"purpose": "test"}
	enc, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: plaintext, EncryptionContext: encCtx})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if aws.ToString(enc.KeyId) != arn || bytes.Contains(enc.CiphertextBlob, plaintext) {
		t.Errorf("Encrypt: KeyId %q (want %q), ciphertext contains the plaintext: %v", aws.ToString(enc.KeyId), arn, bytes.Contains(enc.CiphertextBlob, plaintext))
	}
	dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encCtx})
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(dec.Plaintext, plaintext) || aws.ToString(dec.KeyId) != arn {
		t.Errorf("Decrypt = %q with %q, want the plaintext with %q", dec.Plaintext, aws.ToString(dec.KeyId), arn)
	}
	_, err = client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}})
	if code, status, _ := apiErrorOf(t, err); code != "InvalidCiphertextException" || status != http.StatusBadRequest {
		t.Errorf("Decrypt with the wrong context: (%q, %d), want (InvalidCiphertextException, 400)", code, status)
	}

	dk, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/app"), KeySpec: types.DataKeySpecAes256})
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	if len(dk.Plaintext) != 32 {
		t.Errorf("data key is %d bytes, want 32", len(dk.Plaintext))
	}
	back, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, KeyId: dk.KeyId})
	if err != nil || !bytes.Equal(back.Plaintext, dk.Plaintext) {
		t.Errorf("Decrypt of the data key = %x, %v; want %x", back.Plaintext, err, dk.Plaintext)
	}

	desc, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
	md := desc.KeyMetadata
	if aws.ToString(md.KeyId) != keyID || aws.ToString(md.Arn) != arn || md.KeyState != types.KeyStateEnabled ||
		md.KeySpec != types.KeySpecSymmetricDefault || md.CreationDate == nil || !md.Enabled {
		t.Errorf("DescribeKey = %+v", md)
	}
	_, err = client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("not a key")})
	if code, _, _ := apiErrorOf(t, err); code != "NotFoundException" {
		t.Errorf("DescribeKey of a malformed ID: %q, want NotFoundException", code)
	}
}

func TestKMSThrottleDecodes(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Rules: rulesWith(t, `
rules:
  - name: kms-symmetric
    service: KMS
    operation: Decrypt|Encrypt|GenerateDataKey
    rate: 2
    burst: 2
    scope: shared
    source: test, shrunk from 10,000/s
`)})
	// us-west-2 has the 100,000/s rule in the defaults; ap-south-1 falls to kms-symmetric.
	client := kms.NewFromConfig(sdkConfig(e, "ap-south-1"))
	ctx := context.Background()
	enc := func() error {
		_, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/a"), Plaintext: []byte("x")})
		return err
	}
	if err := enc(); err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	// The cryptographic operations share one bucket.
	if _, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/a"), NumberOfBytes: aws.Int32(16)}); err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	code, status, id := apiErrorOf(t, enc())
	if code != "ThrottlingException" || status != http.StatusBadRequest || !uuidPattern.MatchString(id) {
		t.Errorf("throttle = (%q, %d, %q), want (ThrottlingException, 400, a UUID)", code, status, id)
	}
	// DescribeKey has its own quota.
	if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/a")}); err != nil {
		t.Errorf("DescribeKey: %v", err)
	}
}
