import { z } from 'zod';
import { linkPlatforms, platforms, roles } from '../enums.ts';

/** Roles in increasing power: viewer (read tools), operator (confirms writes), admin (links, AI, usage). */
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/** Channels a person can talk through. */
export const platformSchema = z.enum(platforms);
export type Platform = z.infer<typeof platformSchema>;

/** Platforms whose workspaces are linked to tenants. */
export type LinkPlatform = (typeof linkPlatforms)[number];

/** True when `role` is at least `minimum`. */
export function hasRole(role: Role, minimum: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(minimum);
}

/** The less powerful of two roles. */
export function lowerRole(a: Role, b: Role): Role {
  return hasRole(a, b) ? b : a;
}
