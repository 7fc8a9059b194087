package handlers

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// benchPatients is a page of n realistic patients.
func benchPatients(n int) models.Page[models.Patient] {
	now := time.Date(2026, 11, 25, 18, 48, 33, 123456000, time.UTC)
	dob := models.NewDate(1980, time.May, 17)
	page := models.Page[models.Patient]{Count: 50000, HasNext: true, HasPrev: true}
	for i := range n {
		page.Items = append(page.Items, models.Patient{
			ID: int64(1000 + i), Name: fmt.Sprintf("Olivia Garcia %d", i), DateOfBirth: &dob, Gender: models.GenderFemale,
			Phone: "+1 (555) 010-0100", Email: "olivia.garcia42@mail.example", Address: "42 Maple Street, Springfield",
			MedicalHistory: "Hypertension, controlled with medication.", CreatedByID: 7, CreatedAt: now, UpdatedAt: now,
		})
	}
	return page
}

// BenchmarkWritePage is the cost of turning a page of patients into the
// response body: conversion, links and JSON encoding, as GET
// /api/patients/?page=2 pays it.
func BenchmarkWritePage(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	for _, size := range []int{models.DefaultPageSize, models.MaxPageSize} {
		page := benchPatients(size)
		q := models.ListQuery{Page: 2, PageSize: size}
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			var bytes int
			for b.Loop() {
				w := httptest.NewRecorder()
				c, _ := gin.CreateTestContext(w)
				c.Request = httptest.NewRequest("GET", fmt.Sprintf("/api/patients/?page=2&page_size=%d", size), nil)
				writePage(c, q, page, newPatientResponse)
				bytes = w.Body.Len()
			}
			b.SetBytes(int64(bytes))
		})
	}
}
