package models

import (
	"slices"
	"strings"
	"testing"
)

// search_text is a prefilter: it may only be trusted while it holds every
// column the searches test. A column added to a search but not to
// searchTexts would make the search miss rows.
func TestSearchTextHoldsEverySearchedColumn(t *testing.T) {
	t.Parallel()
	unqualified := func(cols []string) []string {
		out := make([]string, len(cols))
		for i, c := range cols {
			_, out[i], _ = strings.Cut(c, ".")
			if out[i] == "" {
				out[i] = c
			}
		}
		return out
	}
	want := map[string][]string{}
	for _, st := range searchTexts {
		want[st.table+".search_text"] = st.columns
	}
	for name, spec := range map[string]struct {
		folded  string
		columns []string
	}{
		"API patients":   {patientList.folded, patientList.search},
		"API doctors":    {doctorList.folded, doctorList.search},
		"admin patients": {adminPatientList.folded, adminPatientList.search},
		"admin doctors":  {adminDoctorList.folded, adminDoctorList.search},
	} {
		cols, ok := want[spec.folded]
		if !ok {
			t.Errorf("%s: folded column %q is not one of searchTexts", name, spec.folded)
			continue
		}
		if got := unqualified(spec.columns); !slices.Equal(got, cols) {
			t.Errorf("%s searches %q, its search_text holds %q", name, got, cols)
		}
	}
}

func TestSearchTextFunctionVersion(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]int{
		"patients_search_text_v1":  1,
		"patients_search_text_v12": 12,
		"doctors_search_text_v2":   0, // another table's
		"patients_search_text_vx":  0,
		"patient_counts_v2_insert": 0,
	} {
		if got := searchTextFunctionVersion(name, "patients"); got != want {
			t.Errorf("searchTextFunctionVersion(%q) = %d, want %d", name, got, want)
		}
	}
}
