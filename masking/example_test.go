package masking_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/secret"
)

func ExampleSet_NewRedactor() {
	s := masking.NewSet(masking.Options{})
	if err := s.Add(secret.FromString("sk-example-0123456789abcdef")); err != nil {
		fmt.Println(err)
		return
	}
	r := s.NewRedactor(os.Stdout)
	fmt.Fprintln(r, "calling the API with sk-example-0123456789abcdef")
	fmt.Fprintln(r, "base64: c2stZXhhbXBsZS0wMTIzNDU2Nzg5YWJjZGVm")
	_ = r.Close()
	fmt.Println("redactions:", r.Redactions())
	// Output:
	// calling the API with ***
	// base64: ***
	// redactions: 2
}

func ExampleRegisterWithRunner() {
	var out strings.Builder
	n, err := masking.RegisterWithRunner(&out, secret.FromString("line-one-secret\nline-two-secret"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The value (escaped), its lines, then extra encodings the runner lacks.
	lines := strings.Split(out.String(), "\n")
	fmt.Println(lines[0])
	fmt.Println(lines[1])
	fmt.Println(lines[2])
	fmt.Println(n > 3)
	// Output:
	// ::add-mask::line-one-secret%0Aline-two-secret
	// ::add-mask::line-one-secret
	// ::add-mask::line-two-secret
	// true
}

func ExampleScanner_Scan() {
	sc := masking.NewScanner(masking.ScanOptions{Detectors: true})
	for _, f := range sc.Scan([]byte(`{"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}`)) {
		fmt.Println(f.Offset, f.Length, f.Detector)
	}
	// Output:
	// 23 20 aws-access-key-id
}
