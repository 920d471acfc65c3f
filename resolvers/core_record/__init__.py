"""The core record itself: the patient, critical information and the patient's own registrations."""
