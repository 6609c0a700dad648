package main

import (
	"strconv"

	"github.com/tokenim/tokenim/shared/apierror"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fieldRequired(field string) error {
	return apierror.New(apierror.ValidationFailed, "%s is required.", field).WithDetails(map[string]string{"field": field})
}
