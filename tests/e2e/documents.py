"""GraphQL documents several end-to-end tests send, written once."""

from __future__ import annotations

BLOCK = """
mutation($nin: NationalIdentityNumber!, $hpr: String!) {
  blockHealthPersonnel(nin: $nin, hprNumber: $hpr) { entries { id } }
}"""
UNBLOCK = """
mutation($nin: NationalIdentityNumber!, $hpr: String!) {
  unblockHealthPersonnel(nin: $nin, hprNumber: $hpr) { entries { id } }
}"""
UPDATE = """
mutation($nin: NationalIdentityNumber!, $entry: EntryRef!, $change: CriticalUpdateInput!,
         $key: String) {
  updateCriticalInformation(nin: $nin, entry: $entry, change: $change, idempotencyKey: $key) {
    replayed entries { id version }
  }
}"""
