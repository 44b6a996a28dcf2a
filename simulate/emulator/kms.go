package emulator

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/tollgate/tollgate/simulate/server"
)

const (
	kmsTargetPrefix = "TrentService."
	kmsContentType  = "application/x-amz-json-1.1"
	// kmsMaxPlaintext is KMS's Encrypt limit.
	kmsMaxPlaintext = 4096
)

var kmsService = service{
	id: "KMS",
	operations: map[string]bool{
		"Encrypt": true, "Decrypt": true, "GenerateDataKey": true, "DescribeKey": true,
	},
	writeError: writeAWSJSONError("1.1", "", false),
	throttle: func(*exchange) *apiError {
		return &apiError{status: http.StatusBadRequest, code: "ThrottlingException", throttled: true,
			message: "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."}
	},
	internal: func(*exchange) *apiError {
		return &apiError{status: http.StatusInternalServerError, code: "KMSInternalException",
			message: "An internal error has occurred"}
	},
}

func kmsError(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: msg}
}

// serveKMS answers an awsJson1.1 request to KMS.
func (e *Emulator) serveKMS(x *exchange, op string) {
	x.op = op
	switch op {
	case "Encrypt":
		e.kmsEncrypt(x)
	case "Decrypt":
		e.kmsDecrypt(x)
	case "GenerateDataKey":
		e.kmsGenerateDataKey(x)
	case "DescribeKey":
		e.kmsDescribeKey(x)
	default:
		x.fail(kmsError("UnknownOperationException",
			"The tollgate emulator implements Encrypt, Decrypt, GenerateDataKey and DescribeKey, not "+truncate(op, 128)))
	}
}

func (x *exchange) replyKMS(v any) { x.replyJSON(kmsContentType, v, false) }

// ---- keys

// keyStore derives every KMS key on demand: any key ID, key ARN or alias names a symmetric
// encryption key that exists, whose material is derived from the seed, the Region and the ID.
type keyStore struct {
	aeads sync.Map // region + "/" + key UUID → cipher.AEAD
}

func newKeyStore() *keyStore { return &keyStore{} }

func (k *keyStore) aead(seed uint64, region, keyID string) cipher.AEAD {
	name := region + "/" + keyID
	if a, ok := k.aeads.Load(name); ok {
		return a.(cipher.AEAD)
	}
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	material := sha256.Sum256(append(append([]byte("tollgate-emulator-kms/"), s[:]...), name...))
	block, _ := aes.NewCipher(material[:]) // a 32-byte key cannot fail
	a, _ := cipher.NewGCM(block)
	k.aeads.Store(name, a)
	return a
}

// resolveKeyID turns a key ID, key ARN, alias name or alias ARN into a key UUID. Aliases map to
// a UUID derived from the alias, so the same alias always names the same key.
func resolveKeyID(id, region string) (string, bool) {
	if rest, ok := strings.CutPrefix(id, "arn:aws:kms:"); ok {
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) != 3 || parts[0] != region {
			return "", false
		}
		id = parts[2]
		if a, ok := strings.CutPrefix(id, "key/"); ok {
			id = a
		} else if !strings.HasPrefix(id, "alias/") {
			return "", false
		}
	}
	if alias, ok := strings.CutPrefix(id, "alias/"); ok {
		if alias == "" || len(alias) > 250 {
			return "", false
		}
		sum := sha256.Sum256([]byte("alias/" + alias))
		b := sum[:16]
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		h := hex.EncodeToString(b)
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
	}
	if isUUID(id) {
		return strings.ToLower(id), true
	}
	return "", false
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func (x *exchange) keyARN(keyID string) string {
	return "arn:aws:kms:" + x.region + ":" + x.e.account + ":key/" + keyID
}

// resolveKey validates a request's KeyId.
func resolveKey(x *exchange, id string) (string, *apiError) {
	if id == "" {
		return "", kmsError("ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	keyID, ok := resolveKeyID(id, x.region)
	if !ok {
		return "", kmsError("NotFoundException", "Invalid keyId '"+truncate(id, 256)+"'")
	}
	return keyID, nil
}

// ---- ciphertext

// ciphertextMagic starts every ciphertext blob: magic, key UUID (36 bytes), nonce, sealed data.
const ciphertextMagic = "TGKMS1"

// encryptionContextAAD canonicalises an encryption context as AES-GCM additional data.
func encryptionContextAAD(ctx map[string]string) []byte {
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		binary.Write(&b, binary.BigEndian, uint32(len(k)))
		b.WriteString(k)
		binary.Write(&b, binary.BigEndian, uint32(len(ctx[k])))
		b.WriteString(ctx[k])
	}
	return b.Bytes()
}

func (e *Emulator) seal(region, keyID string, plaintext []byte, ctx map[string]string) []byte {
	a := e.kms.aead(e.opts.Seed, region, keyID)
	nonce := make([]byte, a.NonceSize())
	e.randomBytes(nonce)
	out := append([]byte(ciphertextMagic+keyID), nonce...)
	return a.Seal(out, nonce, plaintext, encryptionContextAAD(ctx))
}

// open decrypts a blob made by seal, returning the key UUID and the plaintext.
func (e *Emulator) open(region string, blob []byte, ctx map[string]string) (string, []byte, bool) {
	rest, ok := bytes.CutPrefix(blob, []byte(ciphertextMagic))
	if !ok || len(rest) < 36+12 {
		return "", nil, false
	}
	keyID := string(rest[:36])
	if !isUUID(keyID) {
		return "", nil, false
	}
	a := e.kms.aead(e.opts.Seed, region, keyID)
	nonce := rest[36 : 36+a.NonceSize()]
	pt, err := a.Open(nil, nonce, rest[36+a.NonceSize():], encryptionContextAAD(ctx))
	if err != nil {
		return "", nil, false
	}
	return keyID, pt, true
}

// ---- operations

func checkAlgorithm(alg string) *apiError {
	if alg != "" && alg != "SYMMETRIC_DEFAULT" {
		return kmsError("InvalidKeyUsageException", "The tollgate emulator's keys are symmetric (SYMMETRIC_DEFAULT); got EncryptionAlgorithm "+truncate(alg, 64))
	}
	return nil
}

func dryRun(x *exchange, dry bool) bool {
	if dry {
		x.fail(kmsError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set."))
	}
	return dry
}

type kmsEncryptInput struct {
	KeyID               string `json:"KeyId"`
	Plaintext           []byte
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

func (e *Emulator) kmsEncrypt(x *exchange) {
	var in kmsEncryptInput
	if err := readJSONBody(x, &in); err != nil {
		x.fail(err)
		return
	}
	keyID, aerr := resolveKey(x, in.KeyID)
	if aerr == nil {
		aerr = checkAlgorithm(in.EncryptionAlgorithm)
	}
	if aerr == nil && (len(in.Plaintext) == 0 || len(in.Plaintext) > kmsMaxPlaintext) {
		aerr = kmsError("ValidationException", "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	if aerr != nil {
		x.fail(aerr)
		return
	}
	if !x.admit(server.Request{}) || dryRun(x, in.DryRun) {
		return
	}
	x.replyKMS(map[string]any{
		"CiphertextBlob":      e.seal(x.region, keyID, in.Plaintext, in.EncryptionContext),
		"KeyId":               x.keyARN(keyID),
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	})
}

type kmsDecryptInput struct {
	KeyID               string `json:"KeyId"`
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

func (e *Emulator) kmsDecrypt(x *exchange) {
	var in kmsDecryptInput
	if err := readJSONBody(x, &in); err != nil {
		x.fail(err)
		return
	}
	var want string
	var aerr *apiError
	if in.KeyID != "" {
		want, aerr = resolveKey(x, in.KeyID)
	}
	if aerr == nil {
		aerr = checkAlgorithm(in.EncryptionAlgorithm)
	}
	if aerr == nil && len(in.CiphertextBlob) == 0 {
		aerr = kmsError("ValidationException", "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null")
	}
	if aerr != nil {
		x.fail(aerr)
		return
	}
	if !x.admit(server.Request{}) || dryRun(x, in.DryRun) {
		return
	}
	keyID, pt, ok := e.open(x.region, in.CiphertextBlob, in.EncryptionContext)
	if !ok {
		x.fail(kmsError("InvalidCiphertextException", "The ciphertext was not produced by this emulator "+
			"(same seed and Region) or the encryption context does not match"))
		return
	}
	if want != "" && want != keyID {
		x.fail(kmsError("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation."))
		return
	}
	x.replyKMS(map[string]any{
		"KeyId": x.keyARN(keyID), "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	})
}

type kmsGenerateDataKeyInput struct {
	KeyID             string `json:"KeyId"`
	KeySpec           string
	NumberOfBytes     *int
	EncryptionContext map[string]string
	DryRun            bool
}

func (e *Emulator) kmsGenerateDataKey(x *exchange) {
	var in kmsGenerateDataKeyInput
	if err := readJSONBody(x, &in); err != nil {
		x.fail(err)
		return
	}
	keyID, aerr := resolveKey(x, in.KeyID)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	n := 0
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != nil:
		aerr = kmsError("ValidationException", "Specify either KeySpec or NumberOfBytes, not both")
	case in.KeySpec == "AES_256":
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		aerr = kmsError("ValidationException", "1 validation error detected: Value '"+truncate(in.KeySpec, 32)+"' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]")
	case in.NumberOfBytes == nil:
		aerr = kmsError("ValidationException", "Please specify either number of bytes or key spec.")
	case *in.NumberOfBytes < 1 || *in.NumberOfBytes > 1024:
		aerr = kmsError("ValidationException", "1 validation error detected: Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024")
	default:
		n = *in.NumberOfBytes
	}
	if aerr != nil {
		x.fail(aerr)
		return
	}
	if !x.admit(server.Request{}) || dryRun(x, in.DryRun) {
		return
	}
	pt := make([]byte, n)
	e.randomBytes(pt)
	x.replyKMS(map[string]any{
		"CiphertextBlob": e.seal(x.region, keyID, pt, in.EncryptionContext),
		"Plaintext":      pt,
		"KeyId":          x.keyARN(keyID),
	})
}

type kmsDescribeKeyInput struct {
	KeyID string `json:"KeyId"`
}

func (e *Emulator) kmsDescribeKey(x *exchange) {
	var in kmsDescribeKeyInput
	if err := readJSONBody(x, &in); err != nil {
		x.fail(err)
		return
	}
	keyID, aerr := resolveKey(x, in.KeyID)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	if !x.admit(server.Request{}) {
		return
	}
	x.replyKMS(map[string]any{"KeyMetadata": map[string]any{
		"AWSAccountId":          e.account,
		"KeyId":                 keyID,
		"Arn":                   x.keyARN(keyID),
		"CreationDate":          float64(e.created.Unix()),
		"Enabled":               true,
		"Description":           "tollgate emulator key",
		"KeyUsage":              "ENCRYPT_DECRYPT",
		"KeyState":              "Enabled",
		"Origin":                "AWS_KMS",
		"KeyManager":            "CUSTOMER",
		"CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
		"KeySpec":               "SYMMETRIC_DEFAULT",
		"EncryptionAlgorithms":  []string{"SYMMETRIC_DEFAULT"},
		"MultiRegion":           false,
	}})
}
