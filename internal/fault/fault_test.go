package fault_test

import (
	"testing"

	"github.com/keylease/keylease/internal/fault"
)

func TestInjector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules []fault.Rule
		calls []string
		hits  []bool
	}{
		{"first two of one op", []fault.Rule{{Op: "a", Times: 2, Status: 500}}, []string{"a", "b", "a", "a"}, []bool{true, false, true, false}},
		{"every call", []fault.Rule{{Op: "a"}}, []string{"a", "a", "a"}, []bool{true, true, true}},
		{"any op", []fault.Rule{{Times: 1}}, []string{"b", "a"}, []bool{true, false}},
		{"rules in order", []fault.Rule{{Op: "a", Times: 1, Code: "X"}, {Op: "a", Times: 1, Code: "Y"}}, []string{"a", "a", "a"}, []bool{true, true, false}},
		{"none", nil, []string{"a"}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in fault.Injector
			for _, r := range tt.rules {
				in.Add(r)
			}
			for i, op := range tt.calls {
				if _, hit := in.Call(op); hit != tt.hits[i] {
					t.Errorf("call %d (%s): hit = %v, want %v", i, op, hit, tt.hits[i])
				}
			}
			total := 0
			for _, op := range tt.calls {
				if op == "a" {
					total++
				}
			}
			if in.Count("a") != total || in.Count("") != len(tt.calls) {
				t.Errorf("counts: a=%d all=%d", in.Count("a"), in.Count(""))
			}
		})
	}
}

func TestInjectorOrderAndClear(t *testing.T) {
	t.Parallel()
	var in fault.Injector
	in.Add(fault.Rule{Op: "a", Times: 1, Code: "X"})
	in.Add(fault.Rule{Op: "a", Times: 1, Code: "Y"})
	if r, _ := in.Call("a"); r.Code != "X" {
		t.Errorf("first rule = %q, want X", r.Code)
	}
	in.Clear()
	if _, hit := in.Call("a"); hit {
		t.Error("rule applied after Clear")
	}
	if in.Counts()["a"] != 2 {
		t.Errorf("counts = %v", in.Counts())
	}
	in.ResetCounts()
	if in.Count("") != 0 {
		t.Error("ResetCounts kept counts")
	}
}
