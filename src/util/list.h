/*
 * list.h - intrusive doubly linked lists. A struct that goes into a list
 * embeds a struct list_link; the list is a struct list_head (zeroed = empty).
 * Insert and unlink are O(1) and never allocate. LIST_ITEM gets the struct
 * back from its link. Not thread-safe: a list belongs to its owner's thread.
 */
#ifndef B2CAUTHY_LIST_H
#define B2CAUTHY_LIST_H

#include <stddef.h>

struct list_link {
	struct list_link *prev, *next;
};

struct list_head {
	struct list_link *first, *last;
};

/* The struct of type TYPE whose MEMBER is the link L; L must not be NULL. */
#define LIST_ITEM(l, type, member) ((type *)(void *)((char *)(l)-offsetof(type, member)))

/* LIST_ITEM of L, or NULL when L is NULL (the end of a list, an empty list). */
#define LIST_ITEM_OR_NULL(l, type, member) ((l) != NULL ? LIST_ITEM(l, type, member) : NULL)

/* list_push_front - make l the first of h; l must not be in a list. */
static inline void
list_push_front(struct list_head *h, struct list_link *l)
{
	l->prev = NULL;
	l->next = h->first;
	if (h->first != NULL)
		h->first->prev = l;
	else
		h->last = l;
	h->first = l;
}

/* list_push_back - make l the last of h; l must not be in a list. */
static inline void
list_push_back(struct list_head *h, struct list_link *l)
{
	l->next = NULL;
	l->prev = h->last;
	if (h->last != NULL)
		h->last->next = l;
	else
		h->first = l;
	h->last = l;
}

/* list_unlink - take l out of h, which holds it; l's links are cleared. */
static inline void
list_unlink(struct list_head *h, struct list_link *l)
{
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		h->first = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	else
		h->last = l->prev;
	l->prev = l->next = NULL;
}

#endif
