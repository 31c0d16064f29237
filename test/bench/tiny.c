// The smallest static program: the exec benchmark's "small static binary".
int main(void) { return 0; }
