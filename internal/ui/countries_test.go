package ui

import "testing"

func TestCountryNamesSorted(t *testing.T) {
	cat, err := NewCatalog(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	de := cat.countries["de"]
	pos := map[string]int{}
	for i, o := range de {
		pos[o.Name] = i
	}
	// Accents fold: Österreich sorts among the Os, before Polen.
	if !(pos["Oman"] < pos["Österreich"] && pos["Österreich"] < pos["Polen"]) {
		t.Errorf("Oman %d, Österreich %d, Polen %d", pos["Oman"], pos["Österreich"], pos["Polen"])
	}
}
