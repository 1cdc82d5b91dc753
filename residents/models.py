# Residents arrive with the residents issue; the app exists so the layout is in place.
