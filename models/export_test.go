package models

import "context"

// What the tests of package models_test need of the store that nothing
// else does: kept out of the Store's API.

// DeleteUserSessions ends every admin session of userID except keepToken's.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, keepToken string) error {
	return translate(deleteUserSessions(s.db.WithContext(ctx), userID, keepToken))
}

// OwnedPatientCount returns how many patients owner has.
func (s *Store) OwnedPatientCount(ctx context.Context, owner int64) (int64, error) {
	st, err := s.ownedPatientState(ctx, owner)
	return st.total, err
}
