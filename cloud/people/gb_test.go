package people_test

import "golang.org/x/text/encoding/simplifiedchinese"

func gb18030(s string) ([]byte, error) {
	return simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
}
