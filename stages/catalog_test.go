package stages

import (
	"slices"
	"testing"
)

// Every report lists stages in pipeline order, however they were asked for:
// the code stages as CodeStages lists them, then the delivery stages.
func TestInOrder(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{Dockerfile, Secrets, IaC, SCA}, []string{Secrets, SCA, IaC, Dockerfile}},
		{[]string{Production, Build, Licenses}, []string{Licenses, Build, Production}},
		{[]string{"nope", DAST, Secrets}, []string{Secrets, DAST, "nope"}},
		{nil, nil},
	}
	for _, tc := range cases {
		if got := InOrder(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("InOrder(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := InOrder(slices.Concat(DeliveryStages, CodeStages)); !slices.Equal(got, slices.Concat(CodeStages, DeliveryStages)) {
		t.Errorf("pipeline order %q is not the code stages then the delivery stages", got)
	}
	if got, _ := ParseList("dockerfile,secrets"); !slices.Equal(got, []string{Secrets, Dockerfile}) {
		t.Errorf("ParseList order %q", got)
	}
}
